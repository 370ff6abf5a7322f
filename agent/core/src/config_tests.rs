//! Configuration loading: defaults, refused keys and values, the shipped file.

use super::*;

#[test]
fn empty_file_is_the_documented_defaults() {
    let cfg = Config::load_checked("").expect("defaults are valid");
    assert_eq!(cfg, Config::default());
    assert_eq!(cfg.detectors.ssh_bruteforce.threshold, 5);
}

#[test]
fn unknown_key_is_refused_and_named() {
    let err = Config::load_checked("[detectors.ssh_bruteforce]\nthreshhold = 3\n")
        .expect_err("typo must fail");
    assert!(err.to_string().contains("threshhold"), "{err}");
}

#[test]
fn wrong_type_is_refused_and_named() {
    let err = Config::load_checked("[detectors.ssh_bruteforce]\nthreshold = \"five\"\n")
        .expect_err("string for int must fail");
    assert!(err.to_string().contains("threshold"), "{err}");
}

#[test]
fn invalid_value_names_the_key() {
    let err = Config::load_checked("[detectors.ssh_bruteforce]\nthreshold = 0\n")
        .expect_err("zero threshold must fail");
    assert_eq!(
        err.to_string(),
        "config key `detectors.ssh_bruteforce.threshold`: must be at least 1"
    );
    let err = Config::load_checked("[agent]\nstate_dir = \"relative\"\n").expect_err("relative");
    assert!(err.to_string().contains("agent.state_dir"));
}

#[test]
fn sensor_path_lists_are_checked_and_named() {
    let err = Config::load_checked("[sensors.ebpf]\nread_paths = [\"etc/shadow\"]\n")
        .expect_err("relative");
    assert!(err.to_string().contains("sensors.ebpf.read_paths"), "{err}");
    let long = format!("[sensors.ebpf]\nhome_paths = [\"/{}\"]\n", "h".repeat(70));
    let err = Config::load_checked(&long).expect_err("too long");
    assert!(err.to_string().contains("sensors.ebpf.home_paths"), "{err}");
    let err = Config::load_checked("[sensors.inotify]\nmax_watches = 0\n").expect_err("zero");
    assert!(
        err.to_string().contains("sensors.inotify.max_watches"),
        "{err}"
    );
    let ok = Config::load_checked("[sensors.ebpf]\nhome_paths = []\nread_paths = []\n");
    assert!(ok.is_ok(), "empty lists switch the feature off");
}

#[test]
fn the_shipped_config_file_is_exactly_the_defaults() {
    let text = include_str!("../../../packaging/config.toml");
    let cfg = Config::load_checked(text).expect("packaging/config.toml is valid");
    assert_eq!(cfg, Config::default());
}

#[test]
fn detector_thresholds_are_checked_and_named() {
    let err =
        Config::load_checked("[detectors.discovery_burst]\nthreshold = 0\n").expect_err("zero");
    assert_eq!(
        err.to_string(),
        "config key `detectors.discovery_burst.threshold`: must be at least 1"
    );
    let err = Config::load_checked("[detectors.mass_file_change]\nwindow_secs = 999999\n")
        .expect_err("over a day");
    assert!(
        err.to_string()
            .contains("detectors.mass_file_change.window_secs"),
        "{err}"
    );
    let err =
        Config::load_checked("[detectors.auth_patterns]\nsucess_after = 3\n").expect_err("typo");
    assert!(err.to_string().contains("sucess_after"), "{err}");
}
