//! Safe writes: 32 processes running `awsid configure set` on 32 different keys at once leave
//! all 32 values, every time.

mod configure_support;
use configure_support::Home;

fn burst(h: &Home, round: usize, file_key: impl Fn(usize) -> String) {
    let children: Vec<_> = (0..32)
        .map(|i| {
            h.command(&["configure", "set", &file_key(i), &format!("v{round}-{i}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn thirty_two_concurrent_sets_lose_nothing() {
    for round in 0..5 {
        let h = Home::new();
        if round % 2 == 1 {
            // Also against an existing file with other content.
            h.write(
                "config",
                "# keep\n[default]\nregion = us-east-1\n[profile other]\noutput = json\n",
            );
        }
        burst(&h, round, |i| format!("key{i:02}"));
        let r = h.run(&["configure", "list-profiles"]);
        assert_eq!(r.code, 0, "the file still parses: {}", r.stderr);
        for i in 0..32 {
            let r = h.run(&["configure", "get", &format!("key{i:02}")]);
            assert_eq!(
                r.stdout,
                format!("v{round}-{i}\n"),
                "round {round}: key{i:02} lost"
            );
        }
        if round % 2 == 1 {
            assert!(h
                .read("config")
                .starts_with("# keep\n[default]\nregion = us-east-1\n"));
            assert_eq!(
                h.run(&["configure", "get", "output", "--profile", "other"])
                    .stdout,
                "json\n"
            );
        }
    }
}

#[test]
fn concurrent_sets_across_profiles_and_files() {
    let h = Home::new();
    burst(&h, 0, |i| {
        if i % 2 == 0 {
            format!("profile.p{i}.region")
        } else {
            format!("profile.p{i}.aws_access_key_id")
        }
    });
    for i in 0..32 {
        let key = if i % 2 == 0 {
            "region"
        } else {
            "aws_access_key_id"
        };
        let r = h.run(&["configure", "get", key, "--profile", &format!("p{i}")]);
        assert_eq!(r.stdout, format!("v0-{i}\n"), "p{i}.{key} lost");
    }
}
