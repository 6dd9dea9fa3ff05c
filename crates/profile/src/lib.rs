//! The AWS shared configuration files: locations, the reader (botocore's INI dialect), the merged
//! profile view, and the line-preserving writer used by `configure`.
