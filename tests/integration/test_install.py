"""`make install`: the binary, the systemd unit, the user, the example configuration and the
logrotate rule, installed into a DESTDIR and checked there (systemd-analyze verify on the unit).
No database: nothing here starts the daemon."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def make_install(dest, *extra):
    # -o build/loa: install the binary that was built, never rebuild it in the middle of a test
    # run (tests/run.sh builds it first).
    p = subprocess.run(["make", "-s", "--no-print-directory", "-o", "build/loa", "install",
                        f"DESTDIR={dest}", "PREFIX=/usr", *extra],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture
def installed(tmp_path):
    if not (REPO / "build" / "loa").exists():
        pytest.fail("build/loa is missing: run `make build/loa` first")
    dest = tmp_path / "root"
    make_install(dest)
    return dest


def unit_settings(path):
    """The unit file's settings as {(section, key): [values]}."""
    out, section = {}, None
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            section = m.group(1)
            continue
        k, _, v = line.partition("=")
        out.setdefault((section, k), []).append(v)
    return out


def test_install_writes_the_tree(installed):
    files = sorted(str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file())
    assert files == sorted(["etc/logrotate.d/loa", "etc/loa/loa.conf", "etc/loa/loa.conf.example",
                            "usr/bin/loa", "usr/lib/systemd/system/loa.service",
                            "usr/lib/sysusers.d/loa.conf"])
    assert (installed / "usr/bin/loa").stat().st_mode & 0o777 == 0o755
    assert (installed / "etc/loa/loa.conf").stat().st_mode & 0o777 == 0o640
    assert (installed / "usr/bin/loa").read_bytes() == (REPO / "build/loa").read_bytes()
    assert re.search(r'^u loa - ".+" /var/lib/loa$',
                     (installed / "usr/lib/sysusers.d/loa.conf").read_text(), re.M)


def test_install_unit_runs_loa_as_a_hardened_service(installed):
    s = unit_settings(installed / "usr/lib/systemd/system/loa.service")
    want = {
        "Type": "simple", "Restart": "on-failure", "User": "loa", "LimitNOFILE": "65536",
        "ExecStart": "/usr/bin/loa -c /etc/loa/loa.conf serve",
        "ExecReload": "/bin/kill -HUP $MAINPID", "ProtectSystem": "strict",
        "ProtectHome": "true", "PrivateTmp": "true", "NoNewPrivileges": "true",
        "StateDirectory": "loa", "WorkingDirectory": "/var/lib/loa",
    }
    for k, v in want.items():
        assert s.get(("Service", k)) == [v], (k, s.get(("Service", k)))
    assert "/var/lib/loa" in s[("Service", "ReadWritePaths")][0].split()
    assert s[("Install", "WantedBy")] == ["multi-user.target"]


def test_install_unit_passes_systemd_analyze_verify(installed, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is missing (tools/deps.sh installs the Debian package systemd)")
    # verify looks for ExecStart's binary on this machine's root, where nothing was installed:
    # check a copy of the unit whose ExecStart names the binary at its DESTDIR place. Every
    # other line is the installed one. verify exits 0 on unknown keys and bad values and only
    # prints them, so any output fails the test.
    unit = (installed / "usr/lib/systemd/system/loa.service").read_text()
    assert "ExecStart=/usr/bin/loa " in unit
    probe = tmp_path / "verify" / "loa.service"
    probe.parent.mkdir()
    probe.write_text(unit.replace("ExecStart=/usr/bin/loa ", f"ExecStart={installed}/usr/bin/loa "))
    p = subprocess.run([analyze, "verify", "--man=no", "--generators=no", str(probe)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout + p.stderr == "", p.stdout + p.stderr
    # The check has teeth: a misspelt key is reported.
    probe.write_text(probe.read_text().replace("ProtectHome=", "ProtectHom="))
    p = subprocess.run([analyze, "verify", "--man=no", "--generators=no", str(probe)],
                       capture_output=True, text=True, timeout=60)
    assert "Unknown key 'ProtectHom'" in p.stdout + p.stderr


def test_install_example_config_names_every_key_commented(installed):
    conf = installed / "etc/loa/loa.conf"
    text = conf.read_text()
    # The committed example is what tools/conf_example.sh writes from the key table.
    gen = subprocess.run([str(REPO / "tools/conf_example.sh"), str(installed / "usr/bin/loa")],
                         capture_output=True, text=True, check=True)
    assert gen.stdout == text, "dist/loa.conf.example is stale: run tools/conf_example.sh"
    keys = subprocess.run([str(installed / "usr/bin/loa"), "config", "keys"], capture_output=True,
                          text=True, check=True).stdout.splitlines()
    assert len(keys) > 50
    # Each key, in its section, as a commented line: "# key = default".
    sections, section = {}, None
    for line in text.splitlines():
        m = re.match(r"^(?:# )?\[(gateway\.)?([a-z_.]+)\]$", line)
        if m:
            section = ("gateway.*" if m.group(1) else m.group(2))
            if m.group(1) and m.group(2) in ("kannel", "http_sms", "zalo_zns", "zalo_oa"):
                section = f"gateway.* type={m.group(2)}"
            continue
        m = re.match(r"^# ([a-z_]+) =", line)
        if m:
            sections.setdefault(section, set()).add(m.group(1))
        assert not re.match(r"^[a-z_]+ *=", line), f"an uncommented key: {line}"
    for k in keys:
        sect, key = re.match(r"^\[([^]]+)\] +(\S+)", k).groups()
        assert key in sections.get(sect, set()), (sect, key)
    # As installed it changes nothing and is a valid configuration.
    p = subprocess.run([str(installed / "usr/bin/loa"), "-c", str(conf), "config", "check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_install_again_keeps_the_operators_config(installed):
    conf = installed / "etc/loa/loa.conf"
    conf.write_text("[policy]\nwindow = 08:00-20:00\n")
    make_install(installed)
    assert conf.read_text() == "[policy]\nwindow = 08:00-20:00\n"
    assert (installed / "etc/loa/loa.conf.example").read_text().startswith("# loa's configuration")


def test_install_logrotate_rule(installed):
    rule = installed / "etc/logrotate.d/loa"
    text = rule.read_text()
    assert "/var/log/loa/*.log {" in text and "copytruncate" in text and "su loa loa" in text
    logrotate = shutil.which("logrotate") or shutil.which("logrotate", path="/usr/sbin:/sbin")
    if not logrotate:
        pytest.skip("logrotate is not installed: the rule's syntax was not checked by logrotate")
    p = subprocess.run([logrotate, "--debug", "--state", str(installed / "state"), str(rule)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "error" not in p.stderr.lower(), p.stderr
