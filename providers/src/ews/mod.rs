//! TODO(helper): EWS client.
