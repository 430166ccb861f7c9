//! Records a playground scene as a GIF (README's "ring collapsing and recovering"): the scene the
//! page would train, stepped here by the same library calls, a scatter plot of its generated
//! points over the ring's modes every EVERY steps, and the mode count in each caption.
//!
//! cargo run --release --example playground_gif -- OUT.gif [STEPS] [EVERY] [LR]

use std::path::PathBuf;

use gantry::eval::toy2d;
use gantry::playground::Settings;
use gantry::playground::scene::{RANGE, Scene};
use gantry::train::StepPart;

fn main() -> gantry::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map_or("playground-ring.gif", String::as_str));
    let number = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (steps, every, lr) = (number(2, 3000.0) as u64, number(3, 50.0) as u64, number(4, 1e-3));
    let mut scene = Scene::new(Settings { lr_d: lr, lr_g: lr, ..Settings::default() })?;
    let (centres, std) = scene.trainer.data.kind.point_modes().expect("ring8 has modes");
    let frames = tempfile_dir()?;
    let mut images = vec![];
    for step in 0..=steps {
        if step % every == 0 {
            let fake = gantry::sample::point_pairs(&scene.frame().fake);
            let report = toy2d::report("ring8", &fake, &centres, std);
            let path = frames.join(format!("frame_{step:06}.png"));
            let title = format!("step {step}: {} of 8 modes", report.modes_covered);
            gantry::viz::plot::scatter(&title, &fake, &centres, RANGE, &path)?;
            println!("{title}");
            images.push((path, title));
        }
        if step < steps {
            scene.take(StepPart::Full)?;
        }
    }
    let n = gantry::viz::animate::animate(&images, &out, 120)?;
    println!("{n} frames: {}", out.display());
    Ok(())
}

fn tempfile_dir() -> gantry::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("gantry-playground-gif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| gantry::Error::io(&dir, e))?;
    Ok(dir)
}
