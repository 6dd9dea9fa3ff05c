//! `awsid configure get`: the observed transcripts of `docs/spec/configure-cli.md` §3 and the v2 rules.

mod configure_support;
use configure_support::Home;

fn home() -> Home {
    let h = Home::new();
    h.write(
        "config",
        "[default]\nregion = us-west-2\noutput = json\n[profile dev]\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 10\n\
         [plugins]\ncli_legacy_plugin_path = /p\n[sso-session my]\nsso_region = us-east-1\n[services svc]\ns3 =\n  endpoint_url = http://x\n",
    );
    h.write(
        "credentials",
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n[dev]\naws_session_token = FQoGZXIvYXdzEXAMPLE\n",
    );
    h
}

fn expect(h: &Home, args: &[&str], env: &[(&str, &str)], code: i32, stdout: &str, stderr: &str) {
    let r = h.run_with(args, env, None);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (code, stdout, stderr),
        "{args:?}"
    );
}

#[test]
fn observed_transcripts() {
    let h = home();
    expect(
        &h,
        &["configure", "get", "region"],
        &[],
        0,
        "us-west-2\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "aws_secret_access_key"],
        &[],
        0,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        "",
    );
    expect(&h, &["configure", "get", "nosuchkey"], &[], 1, "", "");
    expect(
        &h,
        &["configure", "get", "dev.s3.max_concurrent_requests"],
        &[],
        0,
        "10\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "s3", "--profile", "dev"],
        &[],
        1,
        "",
        "varname (s3) must reference a value, not a section or sub-section.",
    );
    expect(
        &h,
        &["configure", "get", "region", "--profile", "nope"],
        &[],
        255,
        "",
        "\nawsid: [ERROR]: The config profile (nope) could not be found\n",
    );
    expect(
        &h,
        &["configure", "get", "profile.nope.region"],
        &[],
        1,
        "",
        "",
    );
}

#[test]
fn dotted_forms() {
    let h = home();
    expect(
        &h,
        &["configure", "get", "profile.dev.region"],
        &[],
        0,
        "eu-west-1\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "profile.dev.s3.max_concurrent_requests"],
        &[],
        0,
        "10\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "default.region", "--profile", "dev"],
        &[],
        0,
        "us-west-2\n",
        "",
    );
    expect(
        &h,
        &[
            "configure",
            "get",
            "s3.max_concurrent_requests",
            "--profile",
            "dev",
        ],
        &[],
        0,
        "10\n",
        "",
    );
    // A sub-key of a scalar is not found.
    expect(&h, &["configure", "get", "region.x"], &[], 1, "", "");
    expect(
        &h,
        &["configure", "get", "dev.aws_session_token"],
        &[],
        0,
        "FQoGZXIvYXdzEXAMPLE\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "plugins.cli_legacy_plugin_path"],
        &[],
        0,
        "/p\n",
        "",
    );
}

#[test]
fn files_only_never_the_environment() {
    let h = home();
    expect(
        &h,
        &["configure", "get", "region"],
        &[("AWS_DEFAULT_REGION", "eu-north-1"), ("AWS_REGION", "x")],
        0,
        "us-west-2\n",
        "",
    );
}

#[test]
fn v2_profile_precedence() {
    let h = home();
    // v2: AWS_PROFILE beats AWS_DEFAULT_PROFILE (v1 is the other way round).
    expect(
        &h,
        &["configure", "get", "region"],
        &[("AWS_PROFILE", "dev"), ("AWS_DEFAULT_PROFILE", "default")],
        0,
        "eu-west-1\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "region"],
        &[("AWS_DEFAULT_PROFILE", "dev")],
        0,
        "eu-west-1\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "region", "--profile", "default"],
        &[("AWS_PROFILE", "dev")],
        0,
        "us-west-2\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "region"],
        &[("AWS_PROFILE", "")],
        255,
        "",
        "\nawsid: [ERROR]: The config profile () could not be found\n",
    );
}

#[test]
fn subsections() {
    let h = home();
    expect(
        &h,
        &["configure", "get", "sso_region", "--sso-session", "my"],
        &[],
        0,
        "us-east-1\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "s3.endpoint_url", "--services", "svc"],
        &[],
        0,
        "http://x\n",
        "",
    );
    expect(
        &h,
        &["configure", "get", "sso_region", "--sso-session", "nope"],
        &[],
        255,
        "",
        "\nawsid: [ERROR]: The config sub-section (nope) could not be found\n",
    );
}

#[test]
fn malformed_files_name_the_path_and_line() {
    let h = home();
    h.write(
        "credentials",
        "[default]\naws_access_key_id = AKIA\nthis line is garbage\n",
    );
    let r = h.run(&["configure", "get", "region"]);
    assert_eq!(r.code, 255);
    assert_eq!(r.stdout, "");
    let path = h.aws("credentials");
    assert!(
        r.stderr.starts_with(&format!(
            "\nawsid: [ERROR]: Unable to parse config file: {}: line 3: ",
            path.display()
        )),
        "{:?}",
        r.stderr
    );
    assert!(!r.stderr.contains("garbage"), "never echo file contents");
}

#[test]
fn usage_errors_exit_252() {
    let h = home();
    assert_eq!(h.run(&["configure", "get"]).code, 252);
    assert_eq!(
        h.run(&[
            "configure",
            "get",
            "x",
            "--sso-session",
            "a",
            "--services",
            "b"
        ])
        .code,
        252
    );
}

#[test]
fn usage_errors_read_like_v2() {
    let h = home();
    let usage = "usage: awsid [options] <command> <subcommand> [<subcommand> ...] [parameters]\n\
                 To see help text, you can run:\n\n  awsid --help\n  awsid <command> --help\n  \
                 awsid <command> <subcommand> --help\n";
    let structured =
        |m: &str| format!("\nawsid: [ERROR]: An error occurred (ParamValidation): {m}\n\n{usage}");
    let cases: [(&[&str], String); 7] = [
        (&["configure", "get"], structured("the following arguments are required: varname")),
        (&["configure", "set"], structured("the following arguments are required: varname, value")),
        (&["configure", "import"], structured("the following arguments are required: --csv")),
        (&["sts"], structured("the following arguments are required: operation")),
        (&["configur"], structured("argument command: Found invalid choice 'configur'\n\nMaybe you meant:\n\n  * configure")),
        (
            &["configure", "export-credentials", "--format", "yaml"],
            structured("argument --format: Found invalid choice 'yaml'\n"),
        ),
        (&["configure", "list", "--profile"], structured("argument --profile: expected one argument")),
    ];
    for (args, stderr) in cases {
        let r = h.run(args);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (252, "", stderr.as_str()),
            "{args:?}"
        );
    }
    // Leftovers: a customization's are a structured ParamValidation without usage, `,`-joined;
    // a service operation's follow the usage, `, `-joined, never structured.
    let r = h.run(&["configure", "get", "region", "--bogus", "x"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            252,
            "\nawsid: [ERROR]: An error occurred (ParamValidation): Unknown options: --bogus,x\n"
        )
    );
    let r = h.run(&[
        "sts",
        "get-caller-identity",
        "--bogus",
        "x",
        "--cli-error-format",
        "json",
    ]);
    assert_eq!(
        (r.code, r.stderr.clone()),
        (
            252,
            format!("\n{usage}\n\nawsid: [ERROR]: Unknown options: --bogus, x\n")
        )
    );
    // A repeated option takes its last value, as with argparse.
    let r = h.run(&[
        "--profile",
        "nope",
        "configure",
        "get",
        "region",
        "--profile",
        "dev",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "eu-west-1\n"));
    // The format applies to usage errors too.
    let r = h.run_with(
        &["configure", "get"],
        &[("AWS_CLI_ERROR_FORMAT", "legacy")],
        None,
    );
    assert_eq!(
        r.stderr,
        format!("\nawsid: [ERROR]: the following arguments are required: varname\n\n{usage}")
    );
}
