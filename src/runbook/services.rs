//! The service graph's order: start in tiers, each after the services it
//! names in `after:`, and stop in the reverse order. Pure: the executor
//! starts, stops and gates the tiers.

use super::diagnostic::hint;
use super::front_matter::Service;

/// Why no order exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("no service is called `{name}`{hint}; the runbook declares: {known}")]
    Unknown { name: String, hint: String, known: String },
    #[error("services depend on each other in a cycle ({}), so no start order exists", .0.join(" → "))]
    Cycle(Vec<String>),
}

/// The start order of `names` (all services when empty): tiers whose
/// services may start together, each tier after every service it depends
/// on, directly or through others (`nginx` after `tornado` after
/// `postgres`: restarting `nginx` and `postgres` restarts `postgres` first).
/// Dependencies that are not named are taken as already running. Within a
/// tier, services keep the order the runbook declares them in.
pub fn start_order<'a>(services: &'a [Service], names: &[String]) -> Result<Vec<Vec<&'a Service>>, OrderError> {
    for name in names {
        if !services.iter().any(|s| &s.name == name) {
            let known: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
            return Err(OrderError::Unknown {
                name: name.clone(),
                hint: hint(name, known.iter().copied()),
                known: if known.is_empty() { "none".to_owned() } else { known.join(", ") },
            });
        }
    }
    let mut pending: Vec<&Service> = services.iter().filter(|s| names.is_empty() || names.contains(&s.name)).collect();
    let mut tiers: Vec<Vec<&Service>> = Vec::new();
    while !pending.is_empty() {
        let waits_for = |service: &Service, pending: &[&Service]| {
            let needs = dependencies(services, service);
            pending.iter().any(|p| p.name != service.name && needs.contains(&p.name.as_str()))
        };
        let (ready, blocked): (Vec<&Service>, Vec<&Service>) = pending.iter().partition(|s| !waits_for(s, &pending));
        if ready.is_empty() {
            return Err(OrderError::Cycle(cycle(&blocked)));
        }
        tiers.push(ready);
        pending = blocked;
    }
    Ok(tiers)
}

/// Every service `service` depends on, directly or through others.
fn dependencies<'a>(services: &'a [Service], service: &'a Service) -> Vec<&'a str> {
    let mut found: Vec<&str> = Vec::new();
    let mut queue: Vec<&str> = service.after.iter().map(|(d, _)| d.as_str()).collect();
    while let Some(name) = queue.pop() {
        if found.contains(&name) {
            continue;
        }
        found.push(name);
        if let Some(next) = services.iter().find(|s| s.name == name) {
            queue.extend(next.after.iter().map(|(d, _)| d.as_str()));
        }
    }
    found
}

/// The stop order: the start order reversed, dependants first.
pub fn stop_order<'a>(services: &'a [Service], names: &[String]) -> Result<Vec<Vec<&'a Service>>, OrderError> {
    let mut tiers = start_order(services, names)?;
    tiers.reverse();
    Ok(tiers)
}

/// One cycle among `blocked` (every one of them waits for another), as
/// names from a service back to itself.
fn cycle(blocked: &[&Service]) -> Vec<String> {
    let mut path: Vec<&str> = vec![blocked[0].name.as_str()];
    loop {
        let current = blocked.iter().find(|s| s.name == *path.last().expect("never empty"));
        let next = current
            .and_then(|s| s.after.iter().find(|(d, _)| blocked.iter().any(|b| &b.name == d)))
            .map(|(d, _)| d.as_str());
        let Some(next) = next else { return path.iter().map(|s| (*s).to_owned()).collect() };
        if let Some(start) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(next.to_owned());
            return cycle;
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::{self, Runbook};

    fn runbook(services: &str) -> Runbook {
        let source = format!("---\nrunbook: t\nservices:\n{services}---\n# T\n");
        runbook::parse(std::path::Path::new("t.md"), &source).runbook
    }

    fn names(tiers: &[Vec<&Service>]) -> Vec<Vec<String>> {
        tiers.iter().map(|tier| tier.iter().map(|s| s.name.clone()).collect()).collect()
    }

    const STACK: &str =
        "  nginx: { after: [tornado] }\n  tornado: { after: [postgres, redis] }\n  postgres: {}\n  redis: {}\n";

    #[test]
    fn services_start_bottom_up_in_tiers_and_stop_top_down() {
        let runbook = runbook(STACK);
        let services = &runbook.front_matter.services;
        assert_eq!(
            names(&start_order(services, &[]).unwrap()),
            [vec!["postgres", "redis"], vec!["tornado"], vec!["nginx"]]
        );
        assert_eq!(
            names(&stop_order(services, &[]).unwrap()),
            [vec!["nginx"], vec!["tornado"], vec!["postgres", "redis"]]
        );
    }

    #[test]
    fn named_services_wait_for_each_other_even_through_unnamed_ones() {
        let runbook = runbook(STACK);
        let services = &runbook.front_matter.services;
        let named = ["nginx".to_owned(), "postgres".to_owned()];
        // nginx waits for postgres through tornado, which is not named
        assert_eq!(names(&start_order(services, &named).unwrap()), [vec!["postgres"], vec!["nginx"]]);
        assert_eq!(names(&start_order(services, &["tornado".to_owned()]).unwrap()), [vec!["tornado"]]);
    }

    #[test]
    fn a_cycle_is_named_from_a_service_back_to_itself() {
        let runbook = runbook("  a: { after: [c] }\n  b: { after: [a] }\n  c: { after: [b] }\n  d: {}\n");
        let error = start_order(&runbook.front_matter.services, &[]).unwrap_err();
        assert_eq!(error, OrderError::Cycle(vec!["a".into(), "c".into(), "b".into(), "a".into()]));
    }

    #[test]
    fn an_unknown_service_is_named_with_a_suggestion() {
        let runbook = runbook(STACK);
        let error = start_order(&runbook.front_matter.services, &["tornad".to_owned()]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no service is called `tornad` (did you mean `tornado`?); the runbook declares: nginx, tornado, postgres, redis"
        );
    }
}
