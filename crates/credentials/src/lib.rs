//! Credential resolution as the AWS CLI does it: providers, the default chain, caching and refresh.
