#!/usr/bin/env python3
"""Fail fast, with a message that says what to do, when AWS is not set up.

    aws-check.py [SAMCONFIG]

`make deploy`, `delete`, `invoke` and `logs` run this first. Without it a
first `make deploy` asked ten guided questions and built the binary before
sam said "Unable to locate credentials".

Checks, in this order, without a prompt:
  - a region: the one samconfig.toml saved (what sam would use), else the
    AWS configuration's (AWS_DEFAULT_REGION, the profile's `region`), else
    AWS_REGION (which other SDKs read and sam and the AWS CLI do not);
  - credentials, where boto finds them (environment, ~/.aws files, SSO,
    container or instance roles);
  - that AWS accepts them: `sts get-caller-identity`, one attempt, short
    timeouts.

Prints the region on stdout (the Makefile passes it on as --region) and who
is deploying where on stderr. Exit status 1, and one paragraph on stderr,
when something is missing. Runs with .venv's python: boto3 comes with
aws-sam-cli.
"""

import os
import sys


def fail(what, hint):
    sys.stderr.write(f"aws: {what}\n{hint}\n")
    sys.exit(1)


CREDENTIALS_HINT = (
    "Give the AWS tools credentials, e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n"
    "(plus AWS_SESSION_TOKEN for temporary ones), AWS_PROFILE naming a profile of\n"
    "~/.aws/config, or `.venv/bin/aws configure`; for IAM Identity Center,\n"
    "`aws sso login` (AWS CLI v2). Then run make again."
)
REGION_HINT = (
    "Set AWS_DEFAULT_REGION (e.g. export AWS_DEFAULT_REGION=eu-west-1), give your\n"
    "profile a region (`.venv/bin/aws configure`), or save one in samconfig.toml\n"
    "([default.deploy.parameters] region = \"...\"; the first guided deploy does)."
)


def samconfig_region(path):
    """The region samconfig.toml saved for deploy (or for every command)."""
    if not path or not os.path.isfile(path):
        return None
    try:
        import tomllib  # Python 3.11+

        with open(path, "rb") as f:
            config = tomllib.load(f)
    except ImportError:
        import tomlkit  # an aws-sam-cli dependency

        with open(path, encoding="utf-8") as f:
            config = tomlkit.parse(f.read()).unwrap()
    default = config.get("default", {})
    for command in ("deploy", "global"):
        region = default.get(command, {}).get("parameters", {}).get("region")
        if region:
            return str(region)
    return None


def main(argv):
    try:
        import boto3
        import botocore.config
        import botocore.exceptions as errors
    except ImportError:
        fail("boto3 is missing", "make setup-deploy installs it into .venv (with aws-sam-cli).")

    try:
        session = boto3.session.Session()
    except errors.ProfileNotFound as e:
        fail(str(e), "Set AWS_PROFILE to a profile of ~/.aws/config, or unset it.")
    region = (
        samconfig_region(argv[1] if len(argv) > 1 else None)
        or session.region_name
        or os.environ.get("AWS_REGION")
    )
    if not region:
        fail("no AWS region is set.", REGION_HINT)

    try:
        credentials = session.get_credentials()
    except errors.BotoCoreError as e:
        fail(f"cannot load AWS credentials: {e}", CREDENTIALS_HINT)
    if credentials is None:
        fail("no AWS credentials found.", CREDENTIALS_HINT)

    quick = botocore.config.Config(
        connect_timeout=5, read_timeout=10, retries={"max_attempts": 1, "mode": "standard"}
    )
    try:
        identity = session.client("sts", region_name=region, config=quick).get_caller_identity()
    except errors.ClientError as e:
        fail(f"AWS refused the credentials: {e}", CREDENTIALS_HINT)
    except (errors.NoCredentialsError, errors.TokenRetrievalError, errors.SSOError) as e:
        fail(f"cannot use the AWS credentials: {e}", CREDENTIALS_HINT)
    except errors.BotoCoreError as e:
        fail(
            f"cannot reach AWS in {region}: {e}",
            "Check the network (and HTTPS_PROXY if you need one), and that the region exists.",
        )
    sys.stderr.write(f"aws: account {identity['Account']} as {identity['Arn']}, region {region}\n")
    print(region)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
