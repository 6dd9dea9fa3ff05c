"""The reference side of test_configure_sso: runs the AWS CLI v2's own `configure sso` command
(Debian's awscli 2.9.19 at /usr/lib/python3/dist-packages, run with /usr/bin/python3) with
scripted answers, so the config file it writes can be byte-compared with awsid's.

Only the parts that talk to a person or a browser are replaced: the prompter answers by prompt
text, the menu picks by value, and the login returns the access token awsid's run obtained
(same server, same user). The SSO portal calls (ListAccounts, ListAccountRoles) are real, to
`awsid serve` (2.9.19 predates AWS_ENDPOINT_URL_*, so the endpoint is passed to the client).
Everything else — the order of questions, what lands in which section, the config writer — is
v2's code. 2.36.7 differs only in texts (prompts, conclusion) and in sorting the menus; the
sections and keys it hands its writer are the same (awscli/customizations/configure/
sso_commands.py, `_write_new_config`), and its writer only adds newline checks.

Usage: python3 v2_configure_sso.py ANSWERS.json ; prints a JSON report on stdout.
"""

import argparse
import json
import sys


def main():
    spec = json.load(open(sys.argv[1]))
    from awscli.clidriver import create_clidriver
    from awscli.customizations.configure.sso import ConfigureSSOCommand

    driver = create_clidriver()
    session = driver.session
    asked = []
    login_args = {}

    class Prompter:
        def get_value(self, current_value, prompt_text='', completions=None,
                      validator=None, toolbar=None, prompt_fmt=None):
            asked.append(prompt_text)
            answer = spec["answers"][prompt_text]
            return answer or current_value

    def selector(items, display_format=None):
        for item in items:
            value = item["accountId"] if isinstance(item, dict) else item
            if value in spec["picks"]:
                return item
        raise SystemExit(f"nothing to pick in {items!r}")

    def sso_login(session, **kwargs):
        login_args.update(kwargs)
        return {"accessToken": spec["access_token"]}

    original = session.create_client

    def create_client(name, *args, **kwargs):
        if name == "sso":
            kwargs["endpoint_url"] = spec["endpoint_url"]
        return original(name, *args, **kwargs)

    session.create_client = create_client
    cmd = ConfigureSSOCommand(session, prompter=Prompter(), selector=selector, sso_login=sso_login)
    rc = cmd._run_main(argparse.Namespace(no_browser=True), argparse.Namespace(verify_ssl=None))
    print(json.dumps({
        "rc": rc,
        "asked": asked,
        "login_args": {k: v for k, v in login_args.items() if k not in ("token_cache", "on_pending_authorization")},
    }))


if __name__ == "__main__":
    main()
