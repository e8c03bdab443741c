//! The string catalogue (F-X-6): `locales/en.json` and `locales/da.json`, compiled in by
//! leptos_i18n as the `i18n` module. (Its macro is deprecated in favour of a build-script
//! generator, which needs ICU's data exporter — nothing this app uses; the macro generates
//! the same module.)
#![allow(deprecated)]

leptos_i18n::load_locales!();
