//! `awsid configure list-profiles` and `awsid configure import` (v2 commands).

mod configure_support;
use configure_support::Home;

#[test]
fn list_profiles_in_botocore_order() {
    let h = Home::new();
    h.write(
        "config",
        "[default]\n[profile a]\n[sso-session s]\n[services x]\n[plugins]\n[profile \"c d\"]\n",
    );
    h.write("credentials", "[b]\n[profile c]\n[a]\n");
    let r = h.run(&["configure", "list-profiles"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "default\na\nc d\nb\nprofile c\n", "")
    );
}

#[test]
fn list_profiles_with_no_files() {
    let h = Home::new();
    let r = h.run(&["configure", "list-profiles"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
}

#[test]
fn import_csv_file() {
    let h = Home::new();
    std::fs::write(
        h.path().join("creds.csv"),
        "\u{feff}User name,Password,Access key ID,Secret access key,Console login link\nalice,pw,AKIAALICE,secretA,https://x\nbob smith,pw,AKIABOB,secretB,https://x\n",
    )
    .unwrap();
    h.write(
        "credentials",
        "# keep me\n[alice]\naws_access_key_id = OLD\n",
    );
    let r = h.run(&[
        "configure",
        "import",
        "--csv",
        "file://creds.csv",
        "--profile-prefix",
        "",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "Successfully imported 2 profile(s)\n"),
        "{}",
        r.stderr
    );
    assert_eq!(
        h.read("credentials"),
        "# keep me\n[alice]\naws_access_key_id = AKIAALICE\naws_secret_access_key = secretA\n[bob smith]\naws_access_key_id = AKIABOB\naws_secret_access_key = secretB\n"
    );
    let r = h.run(&[
        "configure",
        "import",
        "--csv",
        "file://creds.csv",
        "--profile-prefix",
        "t-",
    ]);
    assert_eq!(r.code, 0);
    assert!(h.read("credentials").contains("[t-bob smith]\n"));
}

#[test]
fn import_errors() {
    let h = Home::new();
    let r = h.run(&[
        "configure",
        "import",
        "--csv",
        "User Name,Access Key ID,Secret Access Key\na,,S\n",
    ]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            255,
            "\nawsid: [ERROR]: Failed to parse entry #1: Row missing value for header \"Access Key ID\"\n"
        )
    );
    let r = h.run(&[
        "configure",
        "import",
        "--csv",
        "User Name,Access Key ID,Secret Access Key\na,,S\n",
        "--skip-invalid",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "Successfully imported 0 profile(s)\n")
    );
    let r = h.run(&["configure", "import", "--csv", "file://nope.csv"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (252, "\nawsid: [ERROR]: An error occurred (ParamValidation): Error parsing parameter '--csv': Unable to load paramfile file://nope.csv: [Errno 2] No such file or directory: 'nope.csv'\n")
    );
    assert!(!h.aws("credentials").exists());
}
