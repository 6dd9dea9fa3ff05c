//! The `client_response` target reaches the clients' success paths: each client (and the
//! credential process reader) accepts the credentials of a well-formed answer and refuses a broken or erring one (so the target's
//! property is checked on real credentials, not only on refusals).

fn answers(which: u8, parts: &[&str]) -> Vec<u8> {
    let mut data = vec![which];
    data.extend_from_slice(parts.join("\n--\n").as_bytes());
    data
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKENEXAMPLETOKEN";

#[test]
fn each_client_accepts_a_well_formed_answer_and_refuses_a_broken_one() {
    let creds = format!(
        "{{\"Code\": \"Success\", \"AccessKeyId\": \"ASIAEXAMPLE1\", \"SecretAccessKey\": \"{SECRET}\", \
         \"Token\": \"{TOKEN}\", \"Expiration\": \"2099-01-01T00:00:00Z\"}}"
    );
    let imds = answers(0, &["200\nTOKEN", "200\nmy-role", &format!("200\n{creds}")]);
    let container = answers(1, &[&format!("200\n{creds}")]);
    let sts = answers(
        2,
        &[&format!(
            "200\n<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE1\
             </AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey><SessionToken>{TOKEN}\
             </SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
             </AssumeRoleResult></AssumeRoleResponse>"
        )],
    );
    let mut process = vec![3];
    process.extend_from_slice(
        format!(
            "{{\"Version\": 1, \"AccessKeyId\": \"ASIAEXAMPLE1\", \"SecretAccessKey\": \"{SECRET}\"}}"
        )
        .as_bytes(),
    );
    for data in [&imds, &container, &sts, &process] {
        let c = awsid_fuzz::client_credentials(data)
            .unwrap_or_else(|| panic!("no credentials from {}", String::from_utf8_lossy(data)));
        assert_eq!(c.access_key_id, "ASIAEXAMPLE1");
        assert_eq!(c.secret_access_key.expose(), SECRET);
        awsid_fuzz::client_response(data);
    }
    for data in [
        answers(
            0,
            &["200\nTOKEN", "200\nmy-role", "200\n{\"Code\": \"Failure\"}"],
        ),
        answers(1, &["500\n{}"]),
        answers(
            2,
            &["403\n<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>"],
        ),
        answers(2, &["200\nnot xml"]),
        answers(
            3,
            &["{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}"],
        ),
    ] {
        assert!(
            awsid_fuzz::client_credentials(&data).is_none(),
            "{}",
            String::from_utf8_lossy(&data)
        );
    }
}
