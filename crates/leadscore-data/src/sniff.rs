//! Separator detection for delimited text files.
//!
//! Exports come comma-, semicolon- (European spreadsheets), tab- or pipe-separated. The sniffer
//! counts each candidate outside quotes on the first lines and picks the one that splits the header
//! and keeps the same field count on the following lines.

/// Candidate separators, in order of preference on ties.
pub const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Guesses the separator of a delimited file from its first bytes.
///
/// Returns `None` when no candidate appears in the header (a one-column file).
pub fn sniff_separator(head: &[u8]) -> Option<u8> {
    let lines = split_lines(head);
    let header = lines.first()?;
    let mut best: Option<(usize, usize, u8)> = None;
    for candidate in CANDIDATES {
        let header_count = count_outside_quotes(header, candidate);
        if header_count == 0 {
            continue;
        }
        let consistent = lines[1..]
            .iter()
            .filter(|line| count_outside_quotes(line, candidate) == header_count)
            .count();
        let score = (consistent, header_count, candidate);
        if best.is_none_or(|(c, h, _)| (consistent, header_count) > (c, h)) {
            best = Some(score);
        }
    }
    best.map(|(_, _, candidate)| candidate)
}

/// Number of fields in the header line with the given separator.
pub fn header_field_count(head: &[u8], separator: u8) -> usize {
    split_lines(head)
        .first()
        .map_or(0, |header| count_outside_quotes(header, separator) + 1)
}

/// Splits the sample into complete logical lines (newlines inside quotes do not end a line);
/// an unterminated last line is dropped unless it is the only one.
fn split_lines(head: &[u8]) -> Vec<&[u8]> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut lines = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    for (i, &byte) in head.iter().enumerate() {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                let line = head[start..i]
                    .strip_suffix(b"\r")
                    .unwrap_or(&head[start..i]);
                if !line.is_empty() {
                    lines.push(line);
                }
                start = i + 1;
            }
            _ => {}
        }
        if lines.len() >= 50 {
            return lines;
        }
    }
    if lines.is_empty() && start < head.len() {
        lines.push(&head[start..]);
    }
    lines
}

fn count_outside_quotes(line: &[u8], separator: u8) -> usize {
    let mut in_quotes = false;
    let mut count = 0;
    for &byte in line {
        if byte == b'"' {
            in_quotes = !in_quotes;
        } else if byte == separator && !in_quotes {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_common_separators() {
        assert_eq!(sniff_separator(b"a,b,c\n1,2,3\n"), Some(b','));
        assert_eq!(sniff_separator(b"\"a\";\"b\"\n1;\"x,y\"\n"), Some(b';'));
        assert_eq!(sniff_separator(b"a\tb\n1\t2\n"), Some(b'\t'));
        assert_eq!(sniff_separator(b"a|b\n1|2"), Some(b'|'));
        assert_eq!(sniff_separator(b"only\n1\n"), None);
    }

    #[test]
    fn prefers_the_separator_that_is_consistent() {
        // Commas appear in the free-text column, semicolons separate fields.
        let sample = b"name;note;y\nA;one, two, three;1\nB;x;0\nC;y, z;1\n";
        assert_eq!(sniff_separator(sample), Some(b';'));
    }

    #[test]
    fn ignores_bom_and_crlf() {
        assert_eq!(sniff_separator(b"\xEF\xBB\xBFa;b\r\n1;2\r\n"), Some(b';'));
        assert_eq!(header_field_count(b"a;b;c\n", b';'), 3);
        assert_eq!(header_field_count(b"a;b;c\n", b','), 1);
    }
}
