#!/usr/bin/env bash
# System packages some tests need, from Debian's apt (called by scripts/test.sh).
# Idempotent: installs only what is missing, and only as root; otherwise it says what is
# missing and returns 0, and the tests that need it skip with that reason.
#
#   openssh-server, openssh-client: the fleet test (tests/test_fleet.py) starts sshd in
#   network namespaces it makes, one "Pi" each, and drives them with Ansible over ssh.
#   The test starts its own sshd with its own config; this script starts no service.
#   tmux: the live-display test (tests/test_progress.py) runs pibench in a tmux pane (a real
#   terminal) and reads the screen.
#   chromium: the HTML report test (tests/test_html_report.py) opens the report in headless
#   Chromium (DevTools protocol over a pipe): console errors, tables, sorting, a screenshot.
set -uo pipefail

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "pibench: not root: not installing ${missing[*]} (the tests that need them will skip)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "pibench: no apt-get: cannot install ${missing[*]} (the tests that need them will skip)" >&2
    exit 0
fi
echo "pibench: installing ${missing[*]} from apt (for the fleet, live-display and HTML report tests)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "pibench: apt-get could not install ${missing[*]} (the tests that need them will skip)" >&2
fi
exit 0
