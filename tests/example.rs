//! `examples/custom_observer.rs` works: a user's observer sees every step's named scalars and can
//! stop the run, beside the standard observers.

#[path = "../examples/custom_observer.rs"]
mod custom_observer;

#[test]
fn custom_observer_example_trains_and_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, losses) = custom_observer::train_with_watch(dir.path(), 12).unwrap();
    assert_eq!(summary.steps, 12);
    assert_eq!(losses.len(), 12, "one logged loss_g per step");
    assert!(losses.iter().all(|l| l.is_finite()));
    // The standard observers wrote the run as `gantry train` would, ending with the early stop's files.
    for f in ["config.toml", "real.png", "loss.png", "samples/step_0000010.png", "samples/step_0000012.png", "checkpoints/last.safetensors"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
}
