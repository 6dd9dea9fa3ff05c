//! AWS Signature Version 4: canonical request, string to sign, signing key, header and
//! presigned-query signatures, and verification of signed requests.
