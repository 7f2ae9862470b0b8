//! Safety verdicts, driven through the public entry points.

use super::*;

fn shell_in(script: &str, services: &[&str]) -> Assessment {
    assess_shell(script, Context { services })
}

fn shell(script: &str) -> Assessment {
    shell_in(script, &[])
}

fn safety(script: &str) -> Safety {
    shell(script).safety
}

/// The class and the first finding's `what`.
fn verdict(script: &str) -> (Safety, String) {
    let assessment = shell(script);
    (assessment.safety, assessment.findings.first().map(|f| f.what.clone()).unwrap_or_default())
}

fn assert_reads(scripts: &[&str]) {
    for script in scripts {
        assert_eq!(shell(script), Assessment { safety: Safety::Read, findings: vec![] }, "{script}");
    }
}

fn assert_writes(scripts: &[&str]) {
    for script in scripts {
        let assessment = shell(script);
        assert_eq!(assessment.safety, Safety::Write, "{script}: {assessment:?}");
        assert_eq!(assessment.findings.len(), 1, "{script}");
    }
}

fn assert_destroys(scripts: &[&str]) {
    for script in scripts {
        assert_eq!(safety(script), Safety::Destructive, "{script}: {:?}", shell(script));
    }
}

#[test]
fn seed_examples() {
    assert_eq!(verdict("kill -9 $(cat /var/run/sentinel.pid)"), (Safety::Destructive, "`kill -9`".into()));
    assert_eq!(verdict("kill -TERM $(cat /var/run/sentinel.pid)"), (Safety::Write, "`kill -TERM`".into()));
    assert_eq!(verdict("curl -sSf http://127.0.0.1:8000/health"), (Safety::Read, String::new()));
    assert_eq!(verdict("curl -X POST http://x/api"), (Safety::Write, "`curl -X POST`".into()));
    assert_eq!(
        verdict(
            r#"psql -h 127.0.0.1 -U axiomdb -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle';""#
        ),
        (Safety::Destructive, "`pg_terminate_backend`".into())
    );
    assert_eq!(
        safety(
            r#"psql -h 127.0.0.1 -U axiomdb -c "SELECT pid, state, query FROM pg_stat_activity WHERE query ~* 'ALTER|CREATE|DROP' ORDER BY query_start;""#
        ),
        Safety::Read
    );
    assert_eq!(
        shell_in("sudo systemctl stop pgbouncer", &["pgbouncer"]).findings[0].what,
        "`systemctl stop pgbouncer` (a declared service)"
    );
    assert_eq!(shell_in("sudo systemctl stop pgbouncer.service", &["pgbouncer"]).safety, Safety::Destructive);
    assert_eq!(shell_in("systemctl stop pgbouncer", &["pgbouncer.service"]).safety, Safety::Destructive);
    assert_eq!(verdict("sudo systemctl stop pgbouncer"), (Safety::Write, "`systemctl stop pgbouncer`".into()));
    assert_eq!(verdict("sudo ufw allow from 10.0.0.0/8 to any port 5432"), (Safety::Write, "`ufw allow`".into()));
    assert_eq!(safety("sudo ufw status numbered"), Safety::Read);
    assert_eq!(safety("redis-cli -h 127.0.0.1 llen axiomdb:commands"), Safety::Read);
    assert_eq!(verdict("redis-cli FLUSHALL"), (Safety::Destructive, "`FLUSHALL`".into()));
    assert_eq!(verdict("find /tmp -mtime +7 -delete"), (Safety::Destructive, "`find -delete`".into()));
    assert_eq!(verdict("echo hi > /etc/motd"), (Safety::Write, "writes `/etc/motd`".into()));
    assert_eq!(safety("wg show"), Safety::Read);
    assert_eq!(verdict("psql <<SQL\nDROP TABLE x;\nSQL\n"), (Safety::Destructive, "`DROP TABLE`".into()));
}

#[test]
fn findings_point_at_the_command_or_statement() {
    let script = "uptime\nsudo kill -9 1234 && rm -rf /tmp/x\n";
    let assessment = shell(script);
    let found: Vec<(&str, &str)> =
        assessment.findings.iter().map(|f| (f.what.as_str(), &script[f.range.clone()])).collect();
    assert_eq!(found, [("`kill -9`", "sudo kill -9 1234"), ("`rm -rf`", "rm -rf /tmp/x")]);

    let script = r#"psql -c "SELECT 1; DELETE FROM jobs; TRUNCATE t""#;
    let assessment = shell(script);
    let found: Vec<(&str, &str)> =
        assessment.findings.iter().map(|f| (f.what.as_str(), &script[f.range.clone()])).collect();
    assert_eq!(found, [("`DELETE` without `WHERE`", "DELETE FROM jobs"), ("`TRUNCATE`", "TRUNCATE t")]);

    let script = "psql -d app <<'SQL'\nSELECT 1;\nDROP INDEX i;\nSQL\n";
    let finding = &shell(script).findings[0];
    assert_eq!(&script[finding.range.clone()], "DROP INDEX i");

    let script = "ssh db1 'sudo systemctl restart x; rm -r /srv/old'";
    let finding = &shell(script).findings[0];
    assert_eq!(&script[finding.range.clone()], "rm -r /srv/old");

    let script = "redis-cli <<EOF\nGET a\nflushdb\nEOF";
    let finding = &shell(script).findings[0];
    assert_eq!((finding.what.as_str(), &script[finding.range.clone()]), ("`FLUSHDB`", "flushdb"));
}

#[test]
fn destructive_findings_come_first_and_only_then_the_first_write() {
    let assessment = shell("systemctl restart tornado\ncp a b\nkill -KILL 1\nrm -fr /x");
    assert_eq!(assessment.safety, Safety::Destructive);
    assert_eq!(assessment.findings.iter().map(|f| f.what.as_str()).collect::<Vec<_>>(), ["`kill -KILL`", "`rm -fr`"]);
    let assessment = shell("uptime\nsystemctl restart tornado\ncp a b");
    assert_eq!(
        assessment.findings.iter().map(|f| f.what.as_str()).collect::<Vec<_>>(),
        ["`systemctl restart tornado`"]
    );
}

#[test]
fn empty_and_assignment_only_scripts_read() {
    assert_reads(&["", "  \n# just a comment\n", "X=1", "export PGHOST=127.0.0.1 PGPORT=5432", "set -euo pipefail"]);
}

#[test]
fn kill_signals() {
    assert_destroys(&[
        "kill -9 1",
        "kill -KILL 1",
        "kill -SIGKILL 1",
        "kill -s KILL 1",
        "kill -s 9 1",
        "kill --signal=KILL 1",
        "pkill -9 -f sentinel",
        "killall -KILL nginx",
        "killall -s SIGKILL nginx",
        "sudo -u root kill -9 1",
    ]);
    assert_eq!(verdict("kill -s KILL 1").1, "`kill -s KILL`");
    assert_writes(&["kill 1", "kill -HUP 1", "pkill -f x", "killall nginx", "kill -USR1 1"]);
    assert_reads(&["kill -l"]);
}

#[test]
fn file_removal() {
    assert_destroys(&[
        "rm -rf /tmp/x",
        "rm -fr x",
        "rm -Rf x",
        "rm -r x",
        "rm --recursive x",
        "/bin/rm -rfv x",
        "find . -name '*.log' -exec rm {} \\;",
        "find . -execdir rm -f {} +",
        "shred -u key.pem",
        "wipefs -a /dev/sdb",
        "mkfs.ext4 /dev/sdb1",
        "mkfs -t xfs /dev/sdb1",
        "dd if=/dev/zero of=/dev/sdb bs=1M",
        "truncate -s 0 /var/log/app.log",
    ]);
    assert_eq!(verdict("rm -rf /tmp/x").1, "`rm -rf`");
    assert_eq!(verdict("find . -exec rm {} ;").1, "`find -exec rm`");
    assert_eq!(verdict("dd if=x of=/dev/sdb").1, "`dd of=/dev/sdb`");
    assert_writes(&[
        "rm /tmp/x",
        "rm -f -- -r",
        "find . -exec chmod 600 {} \\;",
        "find / -fprint /tmp/list",
        "dd if=a of=b",
    ]);
    assert_reads(&["find /var/log -name '*.gz' -mtime +7", "find . -exec grep -l x {} +", "dd if=/dev/sda count=1"]);
}

#[test]
fn version_control_and_containers() {
    assert_destroys(&[
        "git reset --hard origin/main",
        "git clean -fdx",
        "git -C /srv/app clean -f",
        "git push --force origin main",
        "git push -f",
        "git push origin +main",
        "docker rm -f web",
        "docker container rm --force web",
        "docker system prune -af",
        "docker image prune",
        "docker volume prune -f",
        "docker container prune",
        "docker volume rm pgdata",
        "docker compose down -v",
        "kubectl delete pod web-1",
        "kubectl -n prod delete deploy web",
        "helm uninstall web",
        "helm delete web",
        "terraform destroy -auto-approve",
        "terraform -chdir=infra apply -destroy",
    ]);
    assert_eq!(verdict("git clean -fdx").1, "`git clean -fdx`");
    assert_eq!(verdict("docker system prune -af").1, "`docker system prune`");
    assert_eq!(verdict("kubectl delete pod x").1, "`kubectl delete`");
    assert_writes(&[
        "git pull",
        "git reset HEAD~1",
        "git clean -d",
        "git push origin main",
        "docker rm web",
        "docker restart web",
        "docker run --rm alpine true",
        "kubectl rollout restart deploy/web",
        "kubectl apply -f x.yaml",
        "helm upgrade web ./chart",
        "terraform apply",
    ]);
    assert_reads(&[
        "git status",
        "git log --oneline -5",
        "git diff HEAD~1",
        "git branch",
        "git remote -v",
        "git clean -n",
        "docker ps -a",
        "docker logs --tail 100 web",
        "docker inspect web",
        "docker stats --no-stream",
        "docker images",
        "docker container ls",
        "docker compose ps",
        "kubectl get pods -n prod -o wide",
        "kubectl -n prod describe pod web-1",
        "kubectl logs -f deploy/web",
        "kubectl auth can-i get pods",
        "kubectl config current-context",
        "helm list -A",
        "helm status web",
        "terraform plan -out=tfplan",
        "terraform output -json",
    ]);
}

#[test]
fn commands_inside_containers_are_judged() {
    assert_reads(&["docker exec -it pg psql -c 'SELECT 1'", "kubectl exec -n db pg-0 -- psql -c 'SELECT 1'"]);
    assert_destroys(&["docker exec pg psql -c 'DROP TABLE t'", "kubectl exec pg-0 -- rm -rf /data"]);
    assert_writes(&["docker exec -it pg bash", "kubectl exec pg-0 ls"]);
}

#[test]
fn redis() {
    assert_destroys(&[
        "redis-cli FLUSHALL",
        "redis-cli flushdb",
        "redis-cli -h 10.0.0.5 -p 6380 -a secret -n 2 FLUSHDB",
        "redis-cli --no-auth-warning shutdown nosave",
        "redis-cli SCRIPT FLUSH",
        "redis-cli function flush",
        "echo FLUSHALL | redis-cli",
        "redis-cli <<< 'FLUSHALL'",
    ]);
    assert_reads(&[
        "redis-cli PING",
        "redis-cli -h 127.0.0.1 llen axiomdb:commands",
        "redis-cli INFO replication",
        "redis-cli CONFIG GET notify-keyspace-events",
        "redis-cli --scan --pattern 'session:*'",
        "redis-cli --bigkeys",
        "redis-cli --latency",
        "redis-cli CLIENT LIST",
        "redis-cli slowlog get 10",
        "redis-cli XINFO GROUPS stream",
    ]);
    assert_eq!(verdict("redis-cli CONFIG SET maxmemory 2gb"), (Safety::Write, "`CONFIG SET`".into()));
    assert_writes(&["redis-cli", "redis-cli -h x", "redis-cli DEL key", "redis-cli --rdb /tmp/dump.rdb"]);
}

#[test]
fn firewall_and_network() {
    assert_destroys(&[
        "iptables -F",
        "sudo iptables --flush INPUT",
        "ip6tables -X",
        "iptables -t nat -F",
        "nft flush ruleset",
        "ufw delete 3",
        "ufw deny 22",
        "ufw --force reset",
        "ufw disable",
    ]);
    assert_eq!(verdict("iptables -t nat -F").1, "`iptables -F`");
    assert_writes(&[
        "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
        "ufw allow 22/tcp",
        "ufw enable",
        "nft add rule inet filter input accept",
        "ip addr add 10.0.0.1/24 dev eth0",
        "ip link set eth0 down",
        "ip route del default",
        "nc 10.0.0.1 80",
    ]);
    assert_reads(&[
        "iptables -L -n -v",
        "iptables -nvL",
        "iptables -S",
        "iptables -C INPUT -j ACCEPT",
        "nft list ruleset",
        "ufw status verbose",
        "ip addr",
        "ip a",
        "ip -4 addr show dev eth0",
        "ip route",
        "ip link show",
        "ip -s link",
        "ip route get 1.1.1.1",
        "ss -tlnp",
        "nc -zv 10.0.0.1 5432",
        "nc -z -w 3 host 80",
        "wg",
        "wg showconf wg0",
        "dig +short example.com",
        "ping -c 3 10.0.0.1",
    ]);
}

#[test]
fn services_and_the_machine() {
    let services = ["tornado", "redis-server"];
    for script in [
        "systemctl stop tornado",
        "systemctl disable --now tornado.service",
        "systemctl mask redis-server",
        "systemctl kill -s KILL tornado",
        "sudo systemctl stop nginx tornado",
        "service tornado stop",
    ] {
        assert_eq!(shell_in(script, &services).safety, Safety::Destructive, "{script}");
    }
    assert_eq!(shell_in("systemctl restart tornado", &services).safety, Safety::Write);
    assert_eq!(shell_in("systemctl stop nginx", &services).safety, Safety::Write);
    assert_destroys(&[
        "shutdown -r now",
        "reboot",
        "sudo poweroff",
        "halt",
        "systemctl reboot",
        "journalctl --vacuum-time=2d",
        "journalctl --vacuum-size 500M",
        "dropdb app",
        "pg_dropcluster 14 main",
        "crontab -r",
    ]);
    assert_eq!(verdict("journalctl --vacuum-time=2d").1, "`journalctl --vacuum-time`");
    assert_writes(&[
        "systemctl restart tornado",
        "systemctl daemon-reload",
        "service nginx reload",
        "journalctl --rotate",
        "sysctl -w net.core.somaxconn=1024",
        "sysctl net.core.somaxconn=1024",
        "hostname web-1",
        "date -s '2024-01-01'",
        "dmesg -C",
        "mount /dev/sdb1 /mnt",
        "top",
        "ulimit -n 65536",
    ]);
    assert_reads(&[
        "systemctl status tornado",
        "systemctl is-active --quiet tornado",
        "systemctl list-units --failed",
        "systemctl",
        "systemctl --no-pager -l status x",
        "systemctl show -p ActiveState tornado",
        "systemctl cat tornado",
        "service tornado status",
        "journalctl -u tornado --since '10 min ago' --no-pager",
        "journalctl -fu tornado",
        "sysctl net.core.somaxconn",
        "sysctl -a",
        "hostname",
        "hostname -f",
        "dmesg -T | tail",
        "mount",
        "top -b -n 1",
        "ulimit -a",
        "ulimit -n",
        "uptime",
        "free -m",
        "df -h",
        "du -sh /var/lib/postgresql",
        "ps aux | grep sentinel-proxy",
        "lsof -i :5432",
        "crontab -l",
        "timedatectl status",
    ]);
}

#[test]
fn http_clients() {
    assert_reads(&[
        "curl -f http://localhost:8080/health",
        "curl -s localhost:9090/metrics | grep upstream_health",
        "curl -sS -o /dev/null -w '%{http_code}' http://x",
        "curl -I https://x",
        "curl -X GET http://x",
        "curl --request=HEAD http://x",
        "curl -H 'Authorization: Bearer x' http://x",
        "wget --spider http://x",
        "wget -qO- http://x",
        "wget -q -O - http://x",
        "wget -O /dev/null http://x",
    ]);
    for (script, what) in [
        ("curl -XPOST http://x", "`curl -X POST`"),
        ("curl --request delete http://x", "`curl -X DELETE`"),
        ("curl -d '{}' http://x", "`curl -d`"),
        ("curl --data-binary @f http://x", "`curl --data-binary`"),
        ("curl --json '{}' http://x", "`curl --json`"),
        ("curl -F file=@x http://x", "`curl -F`"),
        ("curl -T f http://x", "`curl -T`"),
        ("curl -o /tmp/x http://x", "writes `/tmp/x`"),
        ("curl -sSLo out.tgz http://x", "writes `out.tgz`"),
        ("curl -O http://x/f.tgz", "`curl -O`"),
        ("wget http://x/f.tgz", "`wget` (saves a file)"),
        ("wget -O f http://x", "writes `f`"),
        ("wget --post-data=a http://x", "`wget --post-data`"),
    ] {
        assert_eq!(verdict(script), (Safety::Write, what.to_owned()), "{script}");
    }
}

#[test]
fn wrappers_are_looked_through() {
    assert_destroys(&[
        "sudo -u postgres -E rm -rf /x",
        "sudo -i -- rm -rf /x",
        "env -i PATH=/bin rm -rf /x",
        "FOO=1 rm -rf /x",
        "nohup rm -rf /x &",
        "time rm -rf /x",
        "nice -n 10 rm -rf /x",
        "ionice -c3 rm -rf /x",
        "timeout 30 rm -rf /x",
        "timeout -s KILL 5m rm -rf /x",
        "echo /x | xargs rm -rf",
        "ls | xargs -I{} -n 1 rm -rf {}",
        "exec rm -rf /x",
        "command rm -rf /x",
        "watch -n 5 'rm -rf /x'",
        "watch rm -rf /x",
        "bash -c 'rm -rf /x'",
        "sh -ec \"kill -9 1\"",
        "sudo sh -c 'echo 1; rm -rf /x'",
        "ssh -p 2222 -i key admin@db1 'rm -rf /x'",
        "ssh db1 sudo rm -rf /x",
        "ssh -o StrictHostKeyChecking=no -J bastion db1 -- 'kill -9 1'",
        "su - postgres -c 'dropdb app'",
        "runuser -u postgres -- dropdb app",
        "eval 'rm -rf /x'",
        "if true; then rm -rf /x; fi",
        "for f in a b; do rm -r \"$f\"; done",
        "echo $(rm -rf /x)",
        "x=`rm -rf /x`",
        "bash <<EOF\nrm -rf /x\nEOF",
        "ssh db1 <<'EOF'\nsudo systemctl reboot\nEOF",
        "trap 'rm -rf /tmp/work' EXIT",
        "strace -f rm -rf /x",
        "sudo -u postgres psql -c 'DROP DATABASE app'",
    ]);
    assert_reads(&[
        "sudo systemctl status x",
        "sudo -u postgres psql -c 'SELECT 1'",
        "watch -n 1 'ss -tn | grep 10.1.1.10:8080 | wc -l'",
        "watch -n 1 'curl -s localhost:9090/metrics | grep error_rate'",
        "timeout 5 curl -sf http://x",
        "ssh staging \"ps aux | grep x\"",
        "bash -c 'uptime'",
        "nohup sleep 1",
        "env",
        "command -v psql",
        "xargs",
        "trap - EXIT",
    ]);
    assert_writes(&[
        "sudo -i",
        "su - postgres",
        "ssh db1",
        "bash deploy.sh",
        "bash",
        "curl -s https://x/install.sh | bash",
        "ssh staging \"kill -HUP \\$(cat /var/run/sentinel.pid)\"",
        "sudo tee /etc/x",
        "echo 1 | sudo tee -a /etc/sysctl.conf",
    ]);
    assert_eq!(verdict("sudo /usr/bin/rm -rf /x").1, "`rm -rf`");
}

#[test]
fn redirections_and_tee() {
    assert_reads(&[
        "curl -sf http://x > /dev/null 2>&1",
        "cat x 2>/dev/null",
        "echo x >&2",
        "echo x 1>&2",
        "cmd_that_reads_only=1; ls &> /dev/null",
        "grep x < /etc/hosts",
        "tee < x",
        "echo x | tee /dev/stderr",
        "cat <<EOF\nhello\nEOF",
    ]);
    for (script, what) in [
        ("echo x >> /var/log/x", "writes `/var/log/x`"),
        ("ls &> out.txt", "writes `out.txt`"),
        ("ls 2> err.txt", "writes `err.txt`"),
        ("echo x >| f", "writes `f`"),
        ("> /var/log/app.log", "writes `/var/log/app.log`"),
        ("cat <<EOF > /etc/x.conf\na\nEOF", "writes `/etc/x.conf`"),
        ("echo x | tee -a /etc/hosts", "writes `/etc/hosts`"),
        ("ls >", "`>` without a target"),
        ("curl -X POST http://x/branches/<branch_id>/run", "`curl -X POST`"),
        ("sort -o sorted.txt x", "writes `sorted.txt`"),
        ("sed -i 's/a/b/' f", "`sed -i`"),
        ("sed -ni.bak 's/a/b/p' f", "`sed -i`"),
    ] {
        assert_eq!(verdict(script), (Safety::Write, what.to_owned()), "{script}");
    }
    assert_reads(&["sed -n '1,5p' f", "sed -e 's/i/j/' f", "awk '{print $1}' f", "sort -u f", "uniq -c f"]);
}

#[test]
fn psql_and_mysql() {
    assert_reads(&[
        "psql -c 'SELECT 1'",
        "psql -tAc 'SELECT count(*) FROM pg_stat_activity'",
        "psql --command='SHOW max_connections'",
        "psql -c 'EXPLAIN SELECT * FROM t'",
        "psql -c 'WITH x AS (SELECT 1) SELECT * FROM x'",
        "psql -l",
        "psql -c '\\dt'",
        "psql -X -d app -c 'TABLE t' -c 'VALUES (1)'",
        "psql <<'SQL'\n\\x\nSELECT * FROM pg_stat_replication;\nSQL",
        "cat <<SQL | psql\nSELECT 1;\nSQL",
        "mysql -e 'SHOW PROCESSLIST'",
        "mysql -uroot -psecret -h db -e 'SELECT 1'",
        "pg_isready -h 127.0.0.1",
    ]);
    for (script, safety, what) in [
        ("psql -c 'DELETE FROM t'", Safety::Destructive, "`DELETE` without `WHERE`"),
        ("psql -c 'UPDATE t SET a = 1'", Safety::Destructive, "`UPDATE` without `WHERE`"),
        ("psql -c 'TRUNCATE jobs'", Safety::Destructive, "`TRUNCATE`"),
        ("mysql -e 'DROP DATABASE x'", Safety::Destructive, "`DROP DATABASE`"),
        ("psql <<< 'DROP SCHEMA s CASCADE'", Safety::Destructive, "`DROP SCHEMA`"),
        ("psql -c 'DELETE FROM t WHERE id = 1'", Safety::Write, "`DELETE`"),
        ("psql -c 'EXPLAIN ANALYZE SELECT 1'", Safety::Write, "`EXPLAIN ANALYZE`"),
        ("psql -c 'SELECT pg_cancel_backend(1)'", Safety::Write, "`pg_cancel_backend`"),
        ("psql -c 'SELECT pg_reload_conf()'", Safety::Write, "`pg_reload_conf`"),
        ("psql -c 'VACUUM ANALYZE t'", Safety::Write, "`VACUUM`"),
        ("psql", Safety::Write, "`psql` (interactive)"),
        ("psql -d app", Safety::Write, "`psql` (interactive)"),
        ("psql -f migrate.sql", Safety::Write, "`psql -f migrate.sql`"),
        ("psql -c 'SELECT 1' -o /tmp/out", Safety::Write, "writes `/tmp/out`"),
        ("psql -c '\\copy t TO out.csv'", Safety::Write, "`\\copy`"),
    ] {
        assert_eq!(verdict(script), (safety, what.to_owned()), "{script}");
    }
}

#[test]
fn other_tools() {
    assert_reads(&[
        "openssl s_client -connect x:443 -servername x </dev/null",
        "openssl x509 -in cert.pem -noout -dates",
        "openssl req -in x.csr -noout -text",
        "nginx -t",
        "sudo nginx -T",
        "pgbackrest --stanza=main info",
        "aws ec2 describe-instances --region eu-west-1",
        "aws s3 ls s3://bucket",
        "gcloud compute instances list --project x",
        "tcpdump -i eth0 -c 100 port 5432",
        "cat /etc/os-release",
        "jq '.status' f.json",
        "stat -c %Y f",
        "test -f /x && echo yes",
        "[ -f /x ] || echo no",
        "[[ -n $X ]]",
        "sleep 5",
        "cd /srv && ls",
        "which psql",
        "printf '%s\\n' a",
        "read -r -p 'Continue? ' ANSWER",
    ]);
    assert_writes(&[
        "openssl req -new -key k -out x.csr",
        "openssl genrsa -out k.pem 2048",
        "nginx -s reload",
        "nginx",
        "pgbackrest --stanza=main backup",
        "aws s3 cp f s3://bucket/f",
        "gcloud compute instances start x",
        "tcpdump -w /tmp/cap.pcap",
        "./sentinel-proxy --validate --config x",
        "cp /etc/a /etc/b",
        "chmod 600 key",
        "$TOOL --run",
        "python3 -c 'print(1)'",
        "source env.sh",
    ]);
    assert_destroys(&[
        "aws ec2 terminate-instances --instance-ids i-1",
        "gcloud sql instances delete db",
        "pgbackrest stanza-delete",
    ]);
    assert_eq!(verdict("cp a b").1, "`cp`");
    assert_eq!(verdict("./sentinel-proxy --validate").1, "`sentinel-proxy`");
    assert_eq!(verdict("systemctl restart tornado").1, "`systemctl restart tornado`");
}

#[test]
fn template_placeholders_are_single_words() {
    assert_reads(&[
        "kubectl -n {{ kube_namespace }} get deployment/{{ deployment }}",
        "sudo -u postgres pgbackrest --stanza={{ stanza }} info",
        "kubectl -n {{ ns }} logs -l app={{ service }} --since=1h | grep -F {{ request_id }}",
    ]);
    assert_eq!(verdict("kubectl -n {{ ns }} delete pod {{ pod }}").1, "`kubectl delete`");
    assert_eq!(
        shell_in("systemctl stop {{ service }}", &["tornado"]).findings[0].what,
        "`systemctl stop {{ service }}`"
    );
}

#[test]
fn what_stays_short() {
    let long = format!("systemctl restart {}", "x".repeat(200));
    let what = verdict(&long).1;
    assert!(what.chars().count() <= 50, "{what}");
    assert!(what.starts_with("`systemctl restart x"));
}

#[test]
fn sql_statements() {
    let read = |sql: &str| assert_eq!(assess_sql(sql), Assessment { safety: Safety::Read, findings: vec![] }, "{sql}");
    read("");
    read("SELECT 1");
    read("select * from pg_stat_activity where query ~* 'DROP|DELETE';");
    read("SHOW work_mem; EXPLAIN SELECT 1; TABLE t; VALUES (1);");
    read("WITH a AS (SELECT 1) SELECT * FROM a");
    read("BEGIN READ ONLY; SELECT 1; COMMIT;");
    read("SELECT 1 -- DROP TABLE x;\n/* TRUNCATE t; */");
    read("SELECT \"delete\" FROM t");
    read("SELECT replace(name, 'a', 'b'), obj_description(oid) AS comment, 1 AS load FROM pg_class");
    let class = |sql: &str| {
        let a = assess_sql(sql);
        (a.safety, a.findings.first().map(|f| f.what.clone()).unwrap_or_default())
    };
    for (sql, safety, what) in [
        ("DROP TABLE users", Safety::Destructive, "`DROP TABLE`"),
        ("drop index concurrently i", Safety::Destructive, "`DROP INDEX`"),
        ("ALTER TABLE t DROP COLUMN c", Safety::Destructive, "`DROP COLUMN`"),
        ("TRUNCATE t", Safety::Destructive, "`TRUNCATE`"),
        ("DELETE FROM t", Safety::Destructive, "`DELETE` without `WHERE`"),
        ("UPDATE t SET a = 1", Safety::Destructive, "`UPDATE` without `WHERE`"),
        ("SELECT pg_terminate_backend(123)", Safety::Destructive, "`pg_terminate_backend`"),
        ("DELETE FROM t WHERE id = 1", Safety::Write, "`DELETE`"),
        ("UPDATE t SET a = 1 WHERE id = 2", Safety::Write, "`UPDATE`"),
        ("INSERT INTO t VALUES (1)", Safety::Write, "`INSERT`"),
        ("ALTER TABLE t ALTER COLUMN c DROP NOT NULL", Safety::Write, "`ALTER TABLE`"),
        ("CREATE TABLE t (id int REFERENCES u ON DELETE CASCADE ON UPDATE CASCADE)", Safety::Write, "`CREATE TABLE`"),
        ("CREATE INDEX CONCURRENTLY i ON t (a)", Safety::Write, "`CREATE INDEX`"),
        ("SELECT * FROM t FOR UPDATE", Safety::Write, "`UPDATE`"),
        ("SELECT set_config('a', 'b', false)", Safety::Write, "`set_config`"),
        ("WITH d AS (DELETE FROM t WHERE x RETURNING *) SELECT * FROM d", Safety::Write, "`DELETE`"),
        ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2", Safety::Write, "`INSERT`"),
        ("SELECT * INTO backup FROM t", Safety::Write, "`INTO`"),
        ("DO $$ BEGIN PERFORM 1; END $$", Safety::Write, "`DO`"),
        ("ALTER SYSTEM SET work_mem = '64MB'", Safety::Write, "`ALTER SYSTEM`"),
    ] {
        assert_eq!(class(sql), (safety, what.to_owned()), "{sql}");
    }
    let sql = "SELECT 1;\nDROP TABLE a;\nDELETE FROM b;";
    let a = assess_sql(sql);
    assert_eq!(a.findings.iter().map(|f| &sql[f.range.clone()]).collect::<Vec<_>>(), ["DROP TABLE a", "DELETE FROM b"]);
}

#[test]
fn redis_commands() {
    assert_eq!(assess_redis(""), Assessment { safety: Safety::Read, findings: vec![] });
    assert_eq!(
        assess_redis("PING\nllen queue\n# a comment\n\nCONFIG GET maxmemory\nXINFO STREAM s").safety,
        Safety::Read
    );
    assert_eq!(assess_redis("GET \"a b\"\nkeys 'x*'").safety, Safety::Read);
    let text = "INFO\nSET a 1\nflushall\nSCRIPT FLUSH";
    let a = assess_redis(text);
    assert_eq!(a.safety, Safety::Destructive);
    assert_eq!(
        a.findings.iter().map(|f| (f.what.as_str(), &text[f.range.clone()])).collect::<Vec<_>>(),
        [("`FLUSHALL`", "flushall"), ("`SCRIPT FLUSH`", "SCRIPT FLUSH")]
    );
    assert_eq!(assess_redis("SET a 1").findings[0].what, "`SET`");
    assert_eq!(assess_redis("CLIENT KILL ID 5").findings[0].what, "`CLIENT KILL`");
    assert_eq!(assess_redis("  FUNCTION FLUSH  ").findings[0].range, 2..16);
}

#[test]
fn never_panics_and_ranges_stay_in_bounds() {
    let scripts = [
        "ssh 'bash -c \"ssh h \\\"rm -rf /\\\"\"'",
        "bash -c",
        "sudo",
        "sudo -u",
        "psql -c",
        "redis-cli -h",
        "find -exec",
        "kill -s",
        "docker exec",
        "kubectl exec --",
        "ip netns exec",
        "é ü 日本 | 🚀 > 'ü'",
        "psql <<E\n\\\né\nE",
        "bash -c \"$(printf 'rm -rf /')\"",
    ];
    for script in scripts {
        for finding in shell(script).findings {
            assert!(script.get(finding.range.clone()).is_some(), "{script}: {finding:?}");
        }
    }
    let nest = |levels: usize| {
        (0..levels).fold("rm -rf /x".to_owned(), |inner, _| {
            format!("sh -c {}", shell::quote(&inner, shell::QuoteContext::Unquoted))
        })
    };
    let assessment = shell(&nest(5));
    assert_eq!(assessment.safety, Safety::Destructive);
    assert_eq!(assessment.findings[0].what, "`rm -rf`");
    let assessment = shell(&nest(MAX_NESTING + 2));
    assert_eq!(assessment.findings[0].what, "a deeply nested command");
    let unbalanced = "bash -c '".repeat(50) + "rm -rf /";
    assert!(safety(&unbalanced) >= Safety::Write);
}
