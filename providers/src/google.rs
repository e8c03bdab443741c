//! TODO(helper): google client.
