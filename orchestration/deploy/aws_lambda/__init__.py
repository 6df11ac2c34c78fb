"""Code that runs in AWS Lambda, kept as Python files so ruff lints them and tests import them;
the CloudFormation template includes each as its function's inline code (ZipFile)."""
