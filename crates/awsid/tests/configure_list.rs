//! `awsid configure list`: the v2.31+ layout, v2 locations, rows from the credential chain.

mod configure_support;
use configure_support::Home;

fn row(name: &str, value: &str, kind: &str, location: &str) -> String {
    format!("{name:<10} : {value:<24} : {kind:<16} : {location}\n")
}

const HEADER: &str = "NAME       : VALUE                    : TYPE             : LOCATION\n";

#[test]
fn static_keys_from_the_credentials_file() {
    let h = Home::new();
    h.write("config", "[default]\nregion = us-west-2\n");
    h.write(
        "credentials",
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    let r = h.run(&["configure", "list"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        r.stdout,
        [
            HEADER.to_owned(),
            row("profile", "<not set>", "None", "None"),
            row(
                "access_key",
                "****************MPLE",
                "shared-credentials-file",
                ""
            ),
            row(
                "secret_key",
                "****************EKEY",
                "shared-credentials-file",
                ""
            ),
            row("region", "us-west-2", "config-file", "~/.aws/config"),
        ]
        .concat()
    );
    assert!(
        r.stdout.contains("shared-credentials-file : \n"),
        "an empty location ends the row in \" : \""
    );
}

#[test]
fn environment_rows_use_v2_locations() {
    let h = Home::new();
    h.write("config", "[profile prod]\nregion = us-east-1\n");
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "envsecretvalue"),
        ("AWS_DEFAULT_REGION", "eu-north-1"),
        ("AWS_PROFILE", "prod"),
    ];
    let r = h.run_with(&["configure", "list"], &env, None);
    assert_eq!(
        r.stdout,
        [
            HEADER.to_owned(),
            row(
                "profile",
                "prod",
                "env",
                "['AWS_PROFILE', 'AWS_DEFAULT_PROFILE']"
            ),
            row("access_key", "****************MPLE", "env", ""),
            row("secret_key", "****************alue", "env", ""),
            row(
                "region",
                "eu-north-1",
                "env",
                "['AWS_REGION', 'AWS_DEFAULT_REGION']"
            ),
        ]
        .concat()
    );
    // v2 reads AWS_REGION first.
    let r = h.run_with(
        &["configure", "list"],
        &[("AWS_REGION", "ap-south-1"), ("AWS_DEFAULT_REGION", "x")],
        None,
    );
    assert!(r.stdout.ends_with(&row(
        "region",
        "ap-south-1",
        "env",
        "['AWS_REGION', 'AWS_DEFAULT_REGION']"
    )));
}

#[test]
fn explicit_profile_and_custom_config_path() {
    let h = Home::new();
    h.write("custom", "[profile dev]\nregion = eu-west-1\naws_access_key_id = AKIACONFIGKEY1\naws_secret_access_key = configsecret\n");
    let r = h.run_with(
        &["configure", "list", "--profile", "dev"],
        &[("AWS_CONFIG_FILE", "~/.aws/custom")],
        None,
    );
    assert_eq!(
        r.stdout,
        [
            HEADER.to_owned(),
            row("profile", "dev", "manual", "--profile"),
            row("access_key", "****************KEY1", "config-file", ""),
            row("secret_key", "****************cret", "config-file", ""),
            row("region", "eu-west-1", "config-file", "~/.aws/custom"),
        ]
        .concat()
    );
}

#[test]
fn nothing_configured() {
    let h = Home::new();
    let r = h.run(&["configure", "list"]);
    assert_eq!(r.code, 0);
    let not_set = |n| row(n, "<not set>", "None", "None");
    assert_eq!(
        r.stdout,
        [
            HEADER.to_owned(),
            not_set("profile"),
            not_set("access_key"),
            not_set("secret_key"),
            not_set("region")
        ]
        .concat()
    );
}

#[test]
fn missing_profile_prints_rows_then_fails() {
    let h = Home::new();
    let r = h.run(&["configure", "list", "--profile", "nosuch"]);
    assert_eq!(r.code, 255);
    assert_eq!(
        r.stdout,
        [
            HEADER.to_owned(),
            row("profile", "nosuch", "manual", "--profile")
        ]
        .concat()
    );
    assert_eq!(
        r.stderr,
        "\nawsid: [ERROR]: The config profile (nosuch) could not be found\n"
    );
}

/// A minimal instance metadata service: a token, an availability zone, no instance role.
fn fake_imds(zone: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                    break;
                }
            }
            let (status, body) = match request_line.split_whitespace().take(2).collect::<Vec<_>>()[..]
            {
                ["PUT", "/latest/api/token"] => ("200 OK", "TOKEN"),
                ["GET", "/latest/meta-data/placement/availability-zone/"] => ("200 OK", zone),
                _ => ("404 Not Found", ""),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn region_falls_back_to_instance_metadata_as_in_v2() {
    let h = Home::new();
    let imds = fake_imds("ap-south-1c");
    let env = [
        ("AWS_EC2_METADATA_DISABLED", "false"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str()),
    ];
    let r = h.run_with(&["configure", "list"], &env, None);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(
        r.stdout.ends_with(&row("region", "ap-south-1", "imds", "")),
        "{}",
        r.stdout
    );
    // A configured region wins without asking IMDS; IMDS disabled means no region at all.
    h.write("config", "[default]\nregion = us-west-2\n");
    let r = h.run_with(&["configure", "list"], &env, None);
    assert!(r
        .stdout
        .ends_with(&row("region", "us-west-2", "config-file", "~/.aws/config")));
    h.write("config", "");
    let r = h.run(&["configure", "list"]);
    assert!(r
        .stdout
        .ends_with(&row("region", "<not set>", "None", "None")));
}

#[test]
fn a_denied_role_exits_254_like_v2() {
    // v2 reads `credentials.access_key`, which runs the deferred AssumeRole: its ClientError
    // escapes `configure list` and ClientErrorHandler exits 254.
    let h = Home::new();
    let sts = configure_support::denying_sts();
    h.write(
        "config",
        "[profile base]\naws_access_key_id = AKIAEXAMPLEBASE00000\naws_secret_access_key = s\n\
         [profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base\nregion = us-east-1\n",
    );
    let env = [("AWS_ENDPOINT_URL_STS", sts.as_str())];
    let r = h.run_with(&["configure", "list", "--profile", "role"], &env, None);
    assert_eq!(r.code, 254, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "\nawsid: [ERROR]: An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/r\n"
    );
    // The same error escapes export-credentials unwrapped (254), with awsid's details; the
    // structured forms carry the service's own code and message.
    let r = h.run_with(
        &[
            "configure",
            "export-credentials",
            "--profile",
            "role",
            "--cli-error-format",
            "json",
        ],
        &env,
        None,
    );
    assert_eq!(r.code, 254);
    assert_eq!(
        r.stderr,
        "{\n    \"Code\": \"AccessDenied\",\n    \"Message\": \"User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/r\",\n    \"Profile\": \"role\",\n    \"Provider\": \"assume-role\"\n}\n"
    );
    let r = h.run_with(
        &["sts", "get-caller-identity", "--profile", "role"],
        &env,
        None,
    );
    assert_eq!(r.code, 254);
}

#[test]
fn a_region_flag_is_shown_as_imds_like_v2() {
    // v2 looks the region up in the environment and the config file first, then in its
    // whole region chain (`--region`, …, IMDS), and labels whatever that gives `imds`.
    let h = Home::new();
    let r = h.run(&["configure", "list", "--region", "eu-west-1"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert!(
        r.stdout.ends_with(&row("region", "eu-west-1", "imds", "")),
        "{}",
        r.stdout
    );
    h.write("config", "[default]\nregion = us-west-2\n");
    let r = h.run(&["configure", "list", "--region", "eu-west-1"]);
    assert!(r
        .stdout
        .ends_with(&row("region", "us-west-2", "config-file", "~/.aws/config")));
}
