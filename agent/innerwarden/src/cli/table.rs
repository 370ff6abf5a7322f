//! Plain-text tables for the CLI: columns padded to their widest cell, the last one free.

/// Print `rows` under `headers`.
pub fn print(headers: &[&str], rows: &[Vec<String>]) {
    print!("{}", render(headers, rows));
}

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == cols {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = width[i]));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_all_but_the_last_column() {
        let t = super::render(&["A", "B"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(t, "A     B\nlong  x\n");
    }
}
