#!/usr/bin/env bash
# Starts the real servers the integration tests talk to, on 127.0.0.1 only:
#   - Prosody (XMPP): the bot account, two test accounts and the team's room
#     (start-prosody.sh);
#   - an SMTP server with AUTH that delivers into a local Maildir
#     (smtp-server.py, aiosmtpd).
#
# usage: test-servers.sh DIR        start; prints `export …` lines (also in DIR/env)
#        test-servers.sh --stop DIR stop both
#
# Needs: prosody, openssl (Debian) and aiosmtpd (PyPI); .ci/run installs them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ "${1:-}" = "--stop" ]; then
  dir="$2"
  "$here/start-prosody.sh" --stop "$dir/prosody" 2>/dev/null || true
  if [ -f "$dir/smtp.pid" ]; then kill "$(cat "$dir/smtp.pid")" 2>/dev/null || true; rm -f "$dir/smtp.pid"; fi
  exit 0
fi

dir="${1:?usage: test-servers.sh DIR}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
xmpp_port="${CNADESK_CI_XMPP_PORT:-55222}"
smtp_port="${CNADESK_CI_SMTP_PORT:-55025}"

"$here/start-prosody.sh" "$dir/prosody" "$xmpp_port" > /dev/null
smtp_user="cnadesk"
smtp_password="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
rm -rf "$dir/maildir"
nohup python3 "$here/smtp-server.py" "$smtp_port" "$dir/maildir" "$smtp_user" "$smtp_password" \
  > "$dir/smtp.log" 2>&1 < /dev/null &
echo $! > "$dir/smtp.pid"
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null; then break; fi
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null || { cat "$dir/smtp.log" >&2; echo "test-servers.sh: SMTP did not start" >&2; exit 1; }

{
  cat "$dir/prosody/accounts.env"
  echo "export CNADESK_TEST_SMTP=127.0.0.1:$smtp_port"
  echo "export CNADESK_TEST_SMTP_USER=$smtp_user"
  echo "export CNADESK_TEST_SMTP_PASSWORD=$smtp_password"
  echo "export CNADESK_TEST_MAILDIR=$dir/maildir"
} > "$dir/env"
cat "$dir/env"
