//! The IAM access-key calls `vault rotate` makes (Query protocol, API version 2010-05-08),
//! each signed with the caller's own long-term keys: with no `UserName`, IAM acts on the
//! calling user.

use crate::credentials::Credentials;
use crate::sts::StsClient;
use crate::CredentialsError;

/// An IAM client (a Query client signing for `iam`).
pub struct IamClient {
    inner: StsClient,
}

/// A new access key as `CreateAccessKey` returns it; `Debug` hides the secret.
#[derive(Clone)]
pub struct NewAccessKey {
    /// The user it belongs to.
    pub user_name: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key (returned once, by this call only).
    pub secret_access_key: String,
}

impl std::fmt::Debug for NewAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccessKey")
            .field("user_name", &self.user_name)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// One row of `ListAccessKeys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKeyMetadata {
    /// The access key id.
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: String,
}

impl IamClient {
    /// Wraps a Query client already pointed at the IAM endpoint.
    pub fn new(client: StsClient) -> IamClient {
        IamClient {
            inner: client.with_api("iam", "2010-05-08"),
        }
    }

    /// `CreateAccessKey` for the calling user.
    pub fn create_access_key(
        &self,
        caller: &Credentials,
    ) -> Result<NewAccessKey, CredentialsError> {
        let xml = self.inner.call("CreateAccessKey", &[], Some(caller))?;
        let need = |k: &str| -> Result<String, CredentialsError> {
            xml.get(&format!("CreateAccessKeyResult/AccessKey/{k}"))
                .map(str::to_string)
                .ok_or_else(|| CredentialsError::BadResponse {
                    url: self.inner.endpoint().url.clone(),
                    message: format!("CreateAccessKey response has no {k}"),
                })
        };
        Ok(NewAccessKey {
            user_name: need("UserName")?,
            access_key_id: need("AccessKeyId")?,
            secret_access_key: need("SecretAccessKey")?,
        })
    }

    /// `ListAccessKeys` of the calling user (one page of up to 100; IAM allows two keys).
    pub fn list_access_keys(
        &self,
        caller: &Credentials,
    ) -> Result<Vec<AccessKeyMetadata>, CredentialsError> {
        let text = self.inner.call_text(
            "ListAccessKeys",
            &[("MaxItems", "100".into())],
            Some(caller),
        )?;
        parse_key_list(&text).map_err(|message| CredentialsError::BadResponse {
            url: self.inner.endpoint().url.clone(),
            message,
        })
    }

    /// `UpdateAccessKey`: sets `access_key_id`'s status (`Active` or `Inactive`).
    pub fn update_access_key(
        &self,
        caller: &Credentials,
        access_key_id: &str,
        status: &str,
    ) -> Result<(), CredentialsError> {
        self.inner
            .call(
                "UpdateAccessKey",
                &[
                    ("AccessKeyId", access_key_id.to_string()),
                    ("Status", status.to_string()),
                ],
                Some(caller),
            )
            .map(drop)
    }

    /// `DeleteAccessKey` of `access_key_id`.
    pub fn delete_access_key(
        &self,
        caller: &Credentials,
        access_key_id: &str,
    ) -> Result<(), CredentialsError> {
        self.inner
            .call(
                "DeleteAccessKey",
                &[("AccessKeyId", access_key_id.to_string())],
                Some(caller),
            )
            .map(drop)
    }
}

/// The `member`s of `ListAccessKeysResult/AccessKeyMetadata`.
fn parse_key_list(text: &str) -> Result<Vec<AccessKeyMetadata>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "member" && stack.last().is_some_and(|p| p == "AccessKeyMetadata") {
                    current = Some((String::new(), String::new()));
                }
                stack.push(name);
            }
            Event::End(_) => {
                let closed_member = stack.pop().as_deref() == Some("member");
                if let Some((id, status)) = current.take_if(|_| closed_member) {
                    rows.push(AccessKeyMetadata {
                        access_key_id: id,
                        status,
                    });
                }
            }
            Event::Text(t) => {
                if let (Some((id, status)), Some(field)) = (current.as_mut(), stack.last()) {
                    let v = t.unescape().map_err(|e| e.to_string())?;
                    match field.as_str() {
                        "AccessKeyId" => id.push_str(v.trim()),
                        "Status" => status.push_str(v.trim()),
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lists_parse() {
        let text = r#"<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListAccessKeysResult>
    <AccessKeyMetadata>
      <member><UserName>u</UserName><AccessKeyId>AKIA1</AccessKeyId><Status>Active</Status></member>
      <member><UserName>u</UserName><AccessKeyId>AKIA2</AccessKeyId><Status>Inactive</Status></member>
    </AccessKeyMetadata>
    <IsTruncated>false</IsTruncated>
  </ListAccessKeysResult>
</ListAccessKeysResponse>"#;
        assert_eq!(
            parse_key_list(text).unwrap(),
            vec![
                AccessKeyMetadata {
                    access_key_id: "AKIA1".into(),
                    status: "Active".into()
                },
                AccessKeyMetadata {
                    access_key_id: "AKIA2".into(),
                    status: "Inactive".into()
                }
            ]
        );
    }
}
