//! The rule ids, known without the rules: build.rs lists every `src/passes/<rule>.rs` whose `//!`
//! documentation starts with `## rule-id`, so that the configuration and the flags can check rule
//! names without importing the passes (which themselves read the configuration).

/// Every rule id, in file-name order.
pub const RULE_IDS: &[&str] = include!(concat!(env!("OUT_DIR"), "/rule_ids.rs"));

/// Whether `id` names a rule (or `ALL` / `default`), for validating configuration and flags.
pub fn is_rule_id(id: &str) -> bool {
    id.eq_ignore_ascii_case("all") || id.eq_ignore_ascii_case("default") || RULE_IDS.contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_ids_and_the_group_names_are_rule_ids() {
        assert!(!RULE_IDS.is_empty());
        assert!(RULE_IDS.iter().all(|id| is_rule_id(id)));
        assert!(is_rule_id("ALL") && is_rule_id("all") && is_rule_id("default"));
        assert!(!is_rule_id("no-such-rule"));
        assert!(!is_rule_id(""));
    }
}
