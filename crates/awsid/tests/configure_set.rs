//! `awsid configure set`: file bytes as the AWS CLI writes them, v2 routing rules, and the
//! cases where the CLI corrupts a file and awsid does the right thing instead.

mod configure_support;
use std::os::unix::fs::PermissionsExt;

use configure_support::Home;

fn set(h: &Home, args: &[&str]) {
    let mut all = vec!["configure", "set"];
    all.extend_from_slice(args);
    let r = h.run(&all);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "", ""),
        "{args:?}"
    );
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn observed_example_creates_files_and_directories() {
    let h = Home::new();
    set(&h, &["region", "us-west-2"]);
    set(&h, &["output", "json"]);
    set(&h, &["aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"]);
    set(
        &h,
        &[
            "aws_secret_access_key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ],
    );
    set(&h, &["profile.dev.region", "eu-west-1"]);
    set(
        &h,
        &["s3.max_concurrent_requests", "10", "--profile", "dev"],
    );
    set(
        &h,
        &[
            "aws_session_token",
            "FQoGZXIvYXdzEXAMPLE",
            "--profile",
            "dev",
        ],
    );
    assert_eq!(
        h.read("config"),
        "[default]\nregion = us-west-2\noutput = json\n[profile dev]\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 10\n"
    );
    assert_eq!(
        h.read("credentials"),
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n[dev]\naws_session_token = FQoGZXIvYXdzEXAMPLE\n"
    );
    assert_eq!(mode(&h.aws("config")), 0o600);
    assert_eq!(mode(&h.aws("credentials")), 0o600);
}

#[test]
fn routing_rules() {
    let h = Home::new();
    set(
        &h,
        &[
            "default.s3.max_concurrent_requests",
            "20",
            "--profile",
            "dev",
        ],
    );
    set(&h, &["output", "text", "--profile", "default"]);
    set(&h, &["region", "r", "--profile", "my prof"]);
    set(&h, &["plugins.cli_legacy_plugin_path", "/p"]);
    set(&h, &["sso_region", "us-east-1", "--sso-session", "corp"]);
    set(
        &h,
        &["s3.endpoint_url", "http://localhost", "--services", "local"],
    );
    set(&h, &["aws_access_key_id", "AK", "--profile", "my prof"]);
    set(&h, &["empty", ""]);
    assert_eq!(
        h.read("config"),
        "[default]\ns3 =\n    max_concurrent_requests = 20\noutput = text\nempty = \n[profile 'my prof']\nregion = r\n\
         [plugins]\ncli_legacy_plugin_path = /p\n[sso-session corp]\nsso_region = us-east-1\n\
         [services local]\ns3 =\n    endpoint_url = http://localhost\n"
    );
    assert_eq!(h.read("credentials"), "[my prof]\naws_access_key_id = AK\n");
    // The section the reader uses for the profile is the one written.
    let r = h.run(&["configure", "get", "region", "--profile", "my prof"]);
    assert_eq!(r.stdout, "r\n");
}

#[test]
fn env_selected_profile_and_rewrites_keep_other_lines() {
    let h = Home::new();
    h.write(
        "config",
        "# my settings\n[default]\nregion=us-east-1 \n# region = old\n\n[profile x]\nregion = a\n",
    );
    let r = h.run_with(
        &["configure", "set", "region", "eu-west-3"],
        &[("AWS_PROFILE", "x")],
        None,
    );
    assert_eq!(r.code, 0);
    set(&h, &["region", "eu-west-2"]);
    assert_eq!(
        h.read("config"),
        "# my settings\n[default]\nregion = eu-west-2\n# region = old\n\n[profile x]\nregion = eu-west-3\n"
    );
}

#[test]
fn the_writer_writes_where_the_reader_reads() {
    let h = Home::new();
    let env = [
        ("AWS_CONFIG_FILE", "$HOME/cfgvar"),
        ("AWS_SHARED_CREDENTIALS_FILE", "${HOME}/sub/creds"),
    ];
    let r = h.run_with(&["configure", "set", "region", "r1"], &env, None);
    assert_eq!(r.code, 0);
    // The reader expands `$HOME`; the CLI's writer does not and would create a literal
    // `./$HOME/cfgvar` that nothing reads. awsid writes the file it reads back.
    assert_eq!(
        std::fs::read_to_string(h.path().join("cfgvar")).unwrap(),
        "[default]\nregion = r1\n"
    );
    assert!(!h.path().join("$HOME").exists());
    let r = h.run_with(
        &["configure", "set", "aws_access_key_id", "AKIAEXPANDED"],
        &env,
        None,
    );
    assert_eq!(r.code, 0);
    assert!(std::fs::read_to_string(h.path().join("sub/creds"))
        .unwrap()
        .contains("aws_access_key_id = AKIAEXPANDED"));
    let r = h.run_with(&["configure", "get", "region"], &env, None);
    assert_eq!((r.code, r.stdout.as_str()), (0, "r1\n"));
    let r = h.run_with(
        &["configure", "set", "region", "r2"],
        &[("AWS_CONFIG_FILE", "~/other/cfg")],
        None,
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        std::fs::read_to_string(h.path().join("other/cfg")).unwrap(),
        "[default]\nregion = r2\n"
    );
}

#[test]
fn bare_file_name_is_created_in_the_current_directory() {
    let h = Home::new();
    let r = h.run_with(
        &["configure", "set", "region", "r"],
        &[("AWS_CONFIG_FILE", "plaincfg")],
        None,
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        std::fs::read_to_string(h.path().join("plaincfg")).unwrap(),
        "[default]\nregion = r\n"
    );
}

/// v2's `PREDEFINED_SECTION_NAMES` is the string `'plugins'`, so `--profile gin` (any substring)
/// writes `[gin]`, which the reader does not take for profile `gin` (COMPATIBILITY.md). awsid
/// writes the profile's section, and only `plugins` itself names `[plugins]`.
#[test]
fn a_profile_named_like_part_of_plugins_is_a_profile() {
    let h = Home::new();
    h.write("config", "[default]\n");
    for name in ["gin", "s", "in", "plug", "plugin"] {
        set(&h, &["region", "r", "--profile", name]);
        let r = h.run(&["configure", "get", "region", "--profile", name]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "r\n"), "{name}");
    }
    assert_eq!(
        h.read("config"),
        "[default]\n[profile gin]\nregion = r\n[profile s]\nregion = r\n[profile in]\nregion = r\n\
         [profile plug]\nregion = r\n[profile plugin]\nregion = r\n"
    );
}

#[test]
fn cli_corruptions_are_avoided() {
    // Indented header: the CLI appends a second [default], and the file no longer parses.
    let h = Home::new();
    h.write("config", "  [default]\nregion = a\n");
    set(&h, &["region", "b"]);
    assert_eq!(h.read("config"), "  [default]\nregion = b\n");

    // `[profile   x]`: the CLI appends `[profile x]` and the first section's keys are lost.
    h.write("config", "[profile   x]\nregion = a\noutput = json\n");
    set(&h, &["region", "b", "--profile", "x"]);
    assert_eq!(
        h.read("config"),
        "[profile   x]\nregion = b\noutput = json\n"
    );

    // `[profile "my prof"]` against the CLI's `[profile 'my prof']`.
    h.write("config", "[profile \"my prof\"]\nregion = a\n");
    set(&h, &["region", "b", "--profile", "my prof"]);
    assert_eq!(h.read("config"), "[profile \"my prof\"]\nregion = b\n");

    // Case trap: `Region` is the reader's `region`; the CLI adds a duplicate option.
    h.write("config", "[default]\nRegion = a\n");
    set(&h, &["region", "b"]);
    assert_eq!(h.read("config"), "[default]\nregion = b\n");
}

#[test]
fn nested_set_on_a_scalar_fails_cleanly() {
    let h = Home::new();
    h.write("config", "[default]\ns3 = flat\n");
    let r = h.run(&["configure", "set", "s3.max_concurrent_requests", "20"]);
    assert_eq!(r.code, 255);
    assert_eq!(
        r.stderr,
        "\nawsid: [ERROR]: Cannot set a sub-key of s3: it holds a value, not a section\n"
    );
    assert_eq!(h.read("config"), "[default]\ns3 = flat\n");
}

#[test]
fn never_writes_a_file_it_cannot_parse() {
    let h = Home::new();
    h.write("config", "[default]\nregion = a\n[default]\n");
    let r = h.run(&["configure", "set", "output", "json"]);
    assert_eq!(r.code, 255);
    assert!(
        r.stderr.starts_with(&format!(
            "\nawsid: [ERROR]: Unable to parse config file: {}: line 3: ",
            h.aws("config").display()
        )),
        "{:?}",
        r.stderr
    );
    assert_eq!(h.read("config"), "[default]\nregion = a\n[default]\n");
}

#[test]
fn a_malformed_other_file_fails_too() {
    // The reference reads both files at start-up; so does awsid, even for a config-only set.
    let h = Home::new();
    h.write("config", "[default]\noutput = text\n");
    h.write("credentials", "[default]\nregion = a\n\n[default]\n");
    let r = h.run(&["configure", "set", "region", "zz-1"]);
    assert_eq!(r.code, 255);
    let expected = format!(
        "\nawsid: [ERROR]: Unable to parse config file: {}: line 4: ",
        h.aws("credentials").display()
    );
    assert!(r.stderr.starts_with(&expected), "{:?}", r.stderr);
    assert_eq!(h.read("config"), "[default]\noutput = text\n");
}

#[test]
fn validation_messages() {
    let h = Home::new();
    let r = h.run(&["configure", "set", "region", "a\nb"]);
    assert_eq!((r.code, r.stderr.as_str()), (255, "\nawsid: [ERROR]: Invalid value for key region: newline characters and carriage returns are not allowed.\n"));
    let r = h.run(&["configure", "set", "reg\rion", "x"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            255,
            "\nawsid: [ERROR]: Invalid key: newline characters and carriage returns are not allowed: 'reg\\rion'\n"
        )
    );
    let r = h.run(&["configure", "set", "profile.dev", "v"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            255,
            "\nawsid: [ERROR]: varname (profile.dev) must name a key: profile.NAME.KEY\n"
        )
    );
    let r = h.run_with(
        &["configure", "set", "region", "r"],
        &[("AWS_PROFILE", "")],
        None,
    );
    assert_eq!(r.code, 255);
    assert!(
        r.stderr
            .starts_with("\nawsid: [ERROR]: Cannot write section [profile ]"),
        "{}",
        r.stderr
    );
    let r = h.run(&["configure", "set", "a.b.c", "v", "--services", "s"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (252, "\nawsid: [ERROR]: An error occurred (ParamValidation): Found more than two parts in the property to set. Deep nesting of properties is not supported.\n")
    );
    assert!(!h.aws("config").exists());
}

#[test]
fn warns_about_readable_credentials_files() {
    let h = Home::new();
    h.write("credentials", "[default]\n");
    std::fs::set_permissions(h.aws("credentials"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = h.run(&["configure", "set", "aws_access_key_id", "AK"]);
    assert_eq!(r.code, 0);
    let p = h.aws("credentials");
    assert_eq!(
        r.stderr,
        format!(
            "\nawsid: [WARNING]: The file '{0}' is accessible by other users. Consider running 'chmod 600 {0}' to restrict access to only your user.\n",
            p.display()
        )
    );
    assert_eq!(mode(&p), 0o644, "the existing mode is kept");
}

#[test]
fn symlinked_config_is_written_through() {
    let h = Home::new();
    h.write("real-config", "[default]\nregion = a\n");
    std::os::unix::fs::symlink("real-config", h.aws("config")).unwrap();
    set(&h, &["region", "b"]);
    assert!(std::fs::symlink_metadata(h.aws("config"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(h.read("real-config"), "[default]\nregion = b\n");
}

/// Runs awsid as an unprivileged user (root ignores file permissions): through `setpriv` as
/// uid/gid 65534 when the tests run as root, directly otherwise.
fn run_unprivileged(h: &Home, args: &[&str]) -> configure_support::Run {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if !root {
        return h.run(args);
    }
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_awsid"),
        ])
        .args(args)
        .env_clear()
        .env("HOME", h.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(h.path())
        .output()
        .expect("util-linux `setpriv` is needed to test permissions when running as root");
    configure_support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn permission_failures_leave_files_untouched() {
    let h = Home::new();
    h.write("config", "[default]\nregion = a\n");
    std::fs::set_permissions(h.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        h.path().join(".aws"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();

    // A read-only file is not replaced, although the rename would be allowed.
    std::fs::set_permissions(h.aws("config"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let r = run_unprivileged(&h, &["configure", "set", "region", "b"]);
    assert_eq!(r.code, 255, "{r:?}");
    assert!(
        r.stderr.contains(&h.aws("config").display().to_string()),
        "{:?}",
        r.stderr
    );
    assert_eq!(h.read("config"), "[default]\nregion = a\n");

    // A writable file in a read-only directory: no temp file can be made; nothing changes.
    std::fs::set_permissions(h.aws("config"), std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(
        h.path().join(".aws"),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();
    let r = run_unprivileged(&h, &["configure", "set", "region", "b"]);
    std::fs::set_permissions(
        h.path().join(".aws"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    assert_eq!(r.code, 255, "{r:?}");
    assert_eq!(h.read("config"), "[default]\nregion = a\n");
    assert_eq!(
        std::fs::read_dir(h.path().join(".aws")).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn a_value_never_replaces_a_section() {
    let h = Home::new();
    let before = "[default]\ns3 =\n  max_concurrent_requests = 10\nregion = a\n";
    h.write("config", before);
    let r = h.run(&["configure", "set", "s3", "flat"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            255,
            "\nawsid: [ERROR]: Cannot set s3 to a value: it holds a section (max_concurrent_requests); set its keys as s3.KEY, or remove them first\n"
        )
    );
    assert_eq!(h.read("config"), before);
}
