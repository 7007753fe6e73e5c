//! The pieces of oxkey-server the container image relies on, run on the
//! host: `--healthcheck` (the image's HEALTHCHECK) and the
//! `docker-entrypoint` name (the image's ENTRYPOINT). scripts/docker-test.sh
//! runs them in the image itself.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, server_binary, RawConn, Resp, TestServer};

fn healthcheck(args: &[&str]) -> Output {
    Command::new(server_binary()).arg("--healthcheck").args(args).output().expect("run the health check")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn healthcheck_passes_when_the_server_answers() {
    let s = TestServer::start();
    let port = s.port.to_string();
    let out = healthcheck(&["--port", &port, "--bind", "127.0.0.1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The default bind (* -::*) is checked on loopback.
    assert!(healthcheck(&["--port", &port]).status.success());
}

#[test]
fn healthcheck_fails_without_a_server() {
    let port = free_port().to_string();
    let out = healthcheck(&["--port", &port, "--bind", "127.0.0.1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with(&format!("healthcheck: 127.0.0.1:{port}: ")), "{}", stderr(&out));
}

#[test]
fn healthcheck_authenticates_with_the_configured_password() {
    let s = TestServer::start_with(&["--requirepass", "s3cret"]);
    let port = s.port.to_string();
    let out = healthcheck(&["--port", &port, "--bind", "127.0.0.1", "--requirepass", "s3cret"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = healthcheck(&["--port", &port, "--bind", "127.0.0.1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), format!("healthcheck: 127.0.0.1:{port}: -NOAUTH Authentication required.\n"));
}

#[test]
fn healthcheck_refuses_a_bad_configuration() {
    let out = healthcheck(&["--no-such-parameter", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("healthcheck: cannot read the server's configuration"), "{}", stderr(&out));
}

/// A `docker-entrypoint` link to the server binary, as in the image.
fn entrypoint() -> (tempdir::Dir, std::path::PathBuf) {
    let dir = tempdir::Dir::new();
    let link = dir.0.join("docker-entrypoint");
    std::os::unix::fs::symlink(server_binary(), &link).expect("link docker-entrypoint");
    (dir, link)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            let port = super::free_port();
            let p = std::env::temp_dir().join(format!("oxkey-entry-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&p).expect("create a temporary directory");
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn entrypoint_runs_the_server_for_a_server_command_with_its_own_file() {
    let (dir, link) = entrypoint();
    let conf = dir.0.join("my.conf");
    std::fs::write(&conf, "bind 127.0.0.1\nhz 20\n").expect("write the config file");
    let port = free_port();
    let mut child = Command::new(&link)
        .arg("redis-server")
        .arg(&conf)
        .args(["--port", &port.to_string(), "--dir"])
        .arg(&dir.0)
        .stdout(Stdio::null())
        .spawn()
        .expect("run docker-entrypoint");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = RawConn::connect(port);
    let got = c.cmd(&["CONFIG", "GET", "hz"]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, Resp::Array(Some(vec![Resp::bulk("hz"), Resp::bulk("20")])));
}

#[test]
fn entrypoint_runs_other_commands_as_given() {
    let (_dir, link) = entrypoint();
    let out = Command::new(&link).arg("/no/such/command").output().expect("run docker-entrypoint");
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(stderr(&out), "docker-entrypoint: /no/such/command: No such file or directory (os error 2)\n");
    let out = Command::new(&link).args(["/bin/echo", "hello"]).output().expect("run docker-entrypoint");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
}

#[test]
fn entrypoint_passes_version_requests_to_the_server() {
    let (_dir, link) = entrypoint();
    let out = Command::new(&link).args(["/usr/local/bin/valkey-server", "--version"]).output();
    let out = out.expect("run docker-entrypoint");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("oxkey server v="), "{}", stderr(&out));
}
