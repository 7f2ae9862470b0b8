//! GitHub-style heading anchors, so procedure ids match the links people
//! already paste (`runbook.md#incident-high-connection-count`).

use std::collections::HashMap;

/// Makes unique slugs the way GitHub does: lower-case, punctuation dropped,
/// spaces to hyphens, and `-1`, `-2` appended to repeats.
#[derive(Debug, Default)]
pub struct Slugger {
    seen: HashMap<String, usize>,
}

impl Slugger {
    pub fn slug(&mut self, title: &str) -> String {
        let base = slugify(title);
        let mut candidate = base.clone();
        while self.seen.contains_key(&candidate) {
            let count = self.seen.entry(base.clone()).or_insert(0);
            *count += 1;
            candidate = format!("{base}-{count}");
        }
        self.seen.insert(candidate.clone(), 0);
        candidate
    }
}

fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for c in title.trim().chars() {
        match c {
            ' ' => slug.push('-'),
            '-' | '_' => slug.push(c),
            c if c.is_ascii_alphanumeric() => slug.push(c.to_ascii_lowercase()),
            c if c.is_alphanumeric() => slug.extend(c.to_lowercase()),
            _ => {}
        }
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_match_github() {
        let mut s = Slugger::default();
        assert_eq!(s.slug("Incident: High Connection Count"), "incident-high-connection-count");
        assert_eq!(s.slug("2.1 Service Restart Procedure"), "21-service-restart-procedure");
        assert_eq!(s.slug("Check `wg show` — tunnels"), "check-wg-show--tunnels");
        assert_eq!(s.slug("Résumé ✅"), "résumé-");
        assert_eq!(s.slug("Resolution"), "resolution");
        assert_eq!(s.slug("Resolution"), "resolution-1");
        assert_eq!(s.slug("Resolution"), "resolution-2");
        assert_eq!(s.slug("Resolution 1"), "resolution-1-1");
    }
}
