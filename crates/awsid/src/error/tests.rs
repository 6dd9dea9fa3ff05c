//! The report shapes, checked against the texts of aws-cli v2's own tests
//! (`tests/unit/test_structured_error.py`, 2.36.7) with awsid's name.

use super::*;

#[test]
fn enhanced_and_legacy_shapes() {
    let e = CliError::configuration("Invalid configuration value");
    assert_eq!(
        e.render(ErrorFormat::Enhanced),
        "\nawsid: [ERROR]: An error occurred (Configuration): Invalid configuration value\n"
    );
    assert_eq!(
        e.render(ErrorFormat::Legacy),
        "\nawsid: [ERROR]: Invalid configuration value\n"
    );
    assert_eq!(e.kind().code(), 253);
    let e = CliError::no_region();
    assert_eq!(
        e.render(ErrorFormat::Enhanced),
        "\nawsid: [ERROR]: An error occurred (NoRegion): You must specify a region. You can also configure your region by running \"aws configure\".\n"
    );
    assert_eq!(
        e.render(ErrorFormat::Legacy),
        "\nawsid: [ERROR]: You must specify a region. You can also configure your region by running \"aws configure\".\n"
    );
    assert_eq!(
        CliError::no_credentials().render(ErrorFormat::Enhanced),
        "\nawsid: [ERROR]: An error occurred (NoCredentials): Unable to locate credentials. You can configure credentials by running \"aws login\".\n"
    );
}

#[test]
fn general_errors_are_never_structured() {
    let e = CliError::general("The config profile (nope) could not be found");
    for format in [
        ErrorFormat::Enhanced,
        ErrorFormat::Legacy,
        ErrorFormat::Json,
        ErrorFormat::Yaml,
        ErrorFormat::Text,
        ErrorFormat::Table,
    ] {
        assert_eq!(
            e.render(format),
            "\nawsid: [ERROR]: The config profile (nope) could not be found\n"
        );
    }
    assert_eq!(e.kind().code(), 255);
    // Messages are stripped, and an empty one keeps the bare prefix.
    assert_eq!(
        CliError::general("\n  x \n\n").render(ErrorFormat::Enhanced),
        "\nawsid: [ERROR]: x\n"
    );
    assert_eq!(
        CliError::general("").render(ErrorFormat::Enhanced),
        "\nawsid: [ERROR]:\n"
    );
}

#[test]
fn unknown_argument_is_usage_then_error() {
    let e = CliError::unknown_argument("--invalid-arg");
    let expected = "\nusage: awsid [options] <command> <subcommand> [<subcommand> ...] [parameters]\n\
To see help text, you can run:\n\n  awsid --help\n  awsid <command> --help\n  awsid <command> <subcommand> --help\n\n\nawsid: [ERROR]: --invalid-arg\n";
    assert_eq!(e.render(ErrorFormat::Json), expected);
    assert_eq!(e.kind().code(), 252);
}

#[test]
fn service_errors_keep_the_client_error_text() {
    let s = ServiceError {
        code: "AccessDenied".into(),
        message: "User: arn:aws:iam::123456789012:user/alice is not authorized".into(),
        operation: "AssumeRole".into(),
        status: 403,
        retries: 0,
        max_attempts_reached: false,
    };
    let e = CliError::service(&s);
    let text = "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::123456789012:user/alice is not authorized";
    assert_eq!(
        e.render(ErrorFormat::Enhanced),
        format!("\nawsid: [ERROR]: {text}\n")
    );
    assert_eq!(
        e.render(ErrorFormat::Legacy),
        format!("\nawsid: [ERROR]: {text}\n")
    );
    assert_eq!(
        e.render(ErrorFormat::Json),
        "{\n    \"Code\": \"AccessDenied\",\n    \"Message\": \"User: arn:aws:iam::123456789012:user/alice is not authorized\"\n}\n"
    );
    assert_eq!(
        e.render(ErrorFormat::Text),
        "AccessDenied\tUser: arn:aws:iam::123456789012:user/alice is not authorized\n"
    );
    assert_eq!(e.kind().code(), 254);
    assert_eq!(
        CliError::from_credentials(CredentialsError::Service(s)).kind(),
        ExitKind::Service
    );
}

#[test]
fn details_follow_v2s_enhanced_formatter() {
    let e = CliError::configuration("Unable to retrieve credentials: boom\n")
        .with_detail("Profile", "dev")
        .with_detail("Provider", "assume-role");
    assert_eq!(
        e.render(ErrorFormat::Enhanced),
        "\nawsid: [ERROR]: An error occurred (Configuration): Unable to retrieve credentials: boom\n\
         \nAdditional error details:\nProfile: dev\nProvider: assume-role\n"
    );
    assert_eq!(
        e.render(ErrorFormat::Legacy),
        "\nawsid: [ERROR]: Unable to retrieve credentials: boom\n"
    );
    assert_eq!(
        e.render(ErrorFormat::Json),
        "{\n    \"Code\": \"Configuration\",\n    \"Message\": \"Unable to retrieve credentials: boom\\n\",\n    \"Profile\": \"dev\",\n    \"Provider\": \"assume-role\"\n}\n"
    );
    assert_eq!(
        e.render(ErrorFormat::Table),
        e.render(ErrorFormat::Enhanced)
    );
}

#[test]
fn classification_of_library_errors() {
    assert_eq!(
        CliError::from_credentials(CredentialsError::NoRegion).kind(),
        ExitKind::Configuration
    );
    assert_eq!(
        CliError::from_credentials(CredentialsError::ParamValidation(vec!["x".into()])).kind(),
        ExitKind::Usage
    );
    assert_eq!(
        CliError::from_credentials(CredentialsError::ProfileNotFound("p".into())).kind(),
        ExitKind::General
    );
    assert_eq!(
        CliError::from_credentials(CredentialsError::Connect {
            url: "u".into(),
            source: awsid_credentials::http::TransportError::Connect("refused".into()),
        })
        .kind(),
        ExitKind::General
    );
    assert_eq!(CliError::not_found("").render(ErrorFormat::Enhanced), "");
    assert_eq!(CliError::not_found("").kind().code(), 1);
}

#[test]
fn general_errors_carry_awsids_details_except_in_legacy() {
    let e = CliError::general("Unable to read web identity token file /t: gone")
        .with_detail("Profile", "ci");
    let plain = "\nawsid: [ERROR]: Unable to read web identity token file /t: gone\n";
    let details = "\nAdditional error details:\nProfile: ci\n";
    assert_eq!(e.render(ErrorFormat::Enhanced), format!("{plain}{details}"));
    assert_eq!(e.render(ErrorFormat::Json), format!("{plain}{details}"));
    assert_eq!(e.render(ErrorFormat::Legacy), plain);
}

#[test]
fn causes_are_kept_for_debug_but_not_reported() {
    let e = CredentialsError::Connect {
        url: "http://127.0.0.1:9/".into(),
        source: awsid_credentials::http::TransportError::Connect(
            "error sending request: Connection refused (os error 111)".into(),
        ),
    };
    let cli = CliError::from_credentials(e);
    assert_eq!(
        cli.causes(),
        ["connection failed: error sending request: Connection refused (os error 111)"]
    );
    assert_eq!(
        cli.render(ErrorFormat::Legacy),
        "\nawsid: [ERROR]: Could not connect to the endpoint URL: \"http://127.0.0.1:9/\"\n"
    );
}
