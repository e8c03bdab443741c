//! TODO(helper): graph client.
