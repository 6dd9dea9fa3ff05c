//! What `sso login` tells the user, in the v2 CLI's words: its two prompt handlers (browser
//! opened or not) and the page the browser shows after the redirect.

use std::io::Write;

use awsid_credentials::sso::{Authorization, LoginUi};

use super::browser::Browser;

/// The page the browser shows after the redirect to the loopback listener.
const CALLBACK_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>awsid sso login</title></head>\
<body><h1>Request processed</h1><p>You can close this window and return to the terminal.</p></body></html>";

/// The terminal side of a login: instructions on `out`, the URL opened with `browser`
/// unless `--no-browser`.
pub(crate) struct TerminalUi<'b, W: Write> {
    out: W,
    browser: &'b dyn Browser,
    no_browser: bool,
}

impl<'b, W: Write> TerminalUi<'b, W> {
    /// Instructions to `out`; `no_browser` prints the URL instead of opening it.
    pub(crate) fn new(out: W, browser: &'b dyn Browser, no_browser: bool) -> TerminalUi<'b, W> {
        TerminalUi {
            out,
            browser,
            no_browser,
        }
    }

    /// The writer back (tests read what was printed).
    #[cfg(test)]
    pub(crate) fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> LoginUi for TerminalUi<'_, W> {
    fn authorize(&mut self, a: &Authorization<'_>) -> std::io::Result<()> {
        let out = &mut self.out;
        let uri = a.uri;
        if self.no_browser {
            write!(
                out,
                "Browser will not be automatically opened.\nPlease visit the following URL:\n\n{uri}\n"
            )?;
            if let Some(code) = a.user_code {
                write!(out, "\nThen enter the code:\n\n{code}\n\nAlternatively, you may visit the following URL which will autofill the code upon loading:\n{}\n", a.uri_complete)?;
            }
            return out.flush();
        }
        write!(out, "Attempting to automatically open the SSO authorization page in your default browser.\nIf the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\n{uri}\n")?;
        if let Some(code) = a.user_code {
            write!(out, "\nThen enter the code:\n\n{code}\n")?;
        }
        out.flush()?;
        if !self.browser.open(a.uri_complete) {
            tracing::debug!("no browser could be opened");
        }
        Ok(())
    }

    fn callback_page(&self) -> &str {
        CALLBACK_PAGE
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[derive(Default)]
    struct Recording(RefCell<Vec<String>>);

    impl Browser for Recording {
        fn open(&self, url: &str) -> bool {
            self.0.borrow_mut().push(url.to_string());
            false
        }
    }

    const DEVICE: Authorization<'static> = Authorization {
        uri: "http://v/device",
        user_code: Some("BCDF-GHJK"),
        uri_complete: "http://v/device?user_code=BCDF-GHJK",
    };

    fn shown(a: &Authorization<'_>, no_browser: bool) -> (String, Vec<String>) {
        let browser = Recording::default();
        let mut ui = TerminalUi::new(Vec::new(), &browser, no_browser);
        ui.authorize(a).unwrap();
        let text = String::from_utf8(ui.into_inner()).unwrap();
        (text, browser.0.take())
    }

    #[test]
    fn device_flow_texts() {
        assert_eq!(
            shown(&DEVICE, false),
            (
                "Attempting to automatically open the SSO authorization page in your default browser.\n\
                 If the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\
                 \nhttp://v/device\n\nThen enter the code:\n\nBCDF-GHJK\n"
                    .to_string(),
                vec!["http://v/device?user_code=BCDF-GHJK".to_string()]
            )
        );
        assert_eq!(
            shown(&DEVICE, true),
            (
                "Browser will not be automatically opened.\nPlease visit the following URL:\n\nhttp://v/device\n\n\
                 Then enter the code:\n\nBCDF-GHJK\n\nAlternatively, you may visit the following URL which will autofill the code upon loading:\n\
                 http://v/device?user_code=BCDF-GHJK\n"
                    .to_string(),
                vec![],
            ),
            "--no-browser opens nothing"
        );
    }

    #[test]
    fn authorization_code_flow_texts() {
        let url = "http://h/authorize?response_type=code";
        let a = Authorization {
            uri: url,
            user_code: None,
            uri_complete: url,
        };
        assert_eq!(
            shown(&a, false),
            (
                format!("Attempting to automatically open the SSO authorization page in your default browser.\nIf the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\n{url}\n"),
                vec![url.to_string()]
            )
        );
        assert_eq!(
            shown(&a, true).0,
            format!("Browser will not be automatically opened.\nPlease visit the following URL:\n\n{url}\n")
        );
        let browser = Recording::default();
        let ui = TerminalUi::new(Vec::new(), &browser, false);
        assert!(ui.callback_page().contains("You can close this window"));
    }
}
