//! Word-prefix search over names and addresses, case- and accent-folded ("kob" finds
//! "København", "new y" finds "America/New_York"). One folding, used by the browser's
//! type-aheads over short lists and by the store's index of people and organisations.

/// Lower case, Danish and other Latin accents folded to their base letter, separators to
/// spaces. "Ærø Å/S" → "aro a s".
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'æ' | 'å' | 'á' | 'à' | 'ä' | 'â' | 'ã' => 'a',
            'ø' | 'ö' | 'ó' | 'ò' | 'ô' | 'õ' => 'o',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'ü' | 'ú' | 'ù' | 'û' => 'u',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ç' => 'c',
            'ñ' => 'n',
            'ß' => 's',
            '_' | '/' | '-' | ',' | '.' | '@' | '(' | ')' | '&' | '+' | '\'' | '"' | ';' | ':' => ' ',
            c => c,
        })
        .collect()
}

/// Danish and German letters as they are written without them: "Ærø" → "aeroe", "Ågård" →
/// "aagaard", "Müller" → "mueller". Then folded.
fn spelled_out(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'æ' | 'ä' => out.push_str("ae"),
            'ø' | 'ö' => out.push_str("oe"),
            'å' => out.push_str("aa"),
            'ü' => out.push_str("ue"),
            c => out.push(c),
        }
    }
    fold(&out)
}

/// The folded words of `text`, each once (what a record is found by): with æ, ø, å folded
/// to a, o, a and spelled out as ae, oe, aa, so "sor", "soer" and "sør" all find "Søren".
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let (folded, spelled) = (fold(text), spelled_out(text));
    for w in folded.split_whitespace().chain(spelled.split_whitespace()) {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    }
    out
}

/// Whether every word of `query` begins some word of `text` ("an han" finds "Anna Hansen").
pub fn matches(text: &str, query: &str) -> bool {
    let hay = words(text);
    fold(query).split_whitespace().all(|q| hay.iter().any(|w| w.starts_with(q)))
}

/// The words a query looks for (folded as the records' are).
pub fn query_words(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in fold(query).split_whitespace() {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_prefixes_without_case_accents_or_separators() {
        assert!(matches("America/New_York", "new y"));
        assert!(matches("America/New_York", "NEW_YORK"));
        assert!(matches("Europe/Copenhagen", "cope"));
        assert!(matches("København", "kob"));
        assert!(matches("Søren Ærbø, soren@aerbo.dk", "aerbo"));
        assert!(matches("Ærø Shipping", "aer"));
        assert!(matches("Ærø Shipping", "ærø"));
        assert!(matches("Ågård", "aagaard"));
        assert!(matches("Søren", "soer"));
        assert!(!matches("Europe/Copenhagen", "berlin"));
        assert!(!matches("Anna Hansen", "nna"), "a prefix of a word, not any substring");
    }

    #[test]
    fn words_are_folded_and_unique() {
        assert_eq!(words("Ida Lund, ida@fjord-logistics.example"), ["ida", "lund", "fjord", "logistics", "example"]);
        assert_eq!(words("Søren Ågård"), ["soren", "agard", "soeren", "aagaard"]);
        assert_eq!(words("  "), Vec::<String>::new());
    }
}
