//! The inbound listener: a small SMTP server (RFC 5321) that the CNA's mail
//! server relays the security address to, on a loopback or private address.
//!
//! Why a listener and not IMAP polling: no mailbox password is stored in the
//! desk, mail is filed the moment it arrives, and the relaying mail server
//! keeps (and retries) anything the desk cannot take, because the desk only
//! answers `250` after the message is committed to its database. A failure
//! to file answers `451`, so the sender's server tries again later; nothing
//! is lost on the way.
//!
//! Mail over the size limit is still taken (up to four times the limit) and
//! handed on marked as oversize, for the quarantine; above that it is
//! refused with `552`, so the sender is told.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The envelope of a received message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM` (empty for bounces).
    pub mail_from: String,
    /// `RCPT TO`, each accepted recipient.
    pub rcpt_to: Vec<String>,
    /// The peer.
    pub peer: String,
}

/// Where received mail goes.
#[async_trait]
pub trait MailSink: Send + Sync + 'static {
    /// Files (or quarantines) one message. `Err` is a temporary failure: the
    /// sender is told to try again later, so return it only when nothing was
    /// kept.
    async fn deliver(&self, envelope: Envelope, raw: Vec<u8>, oversize: bool)
        -> Result<(), String>;
}

/// The listener's settings.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// The name it greets with.
    pub hostname: String,
    /// Accepted recipients: `local` and `local+anything` at `domain`.
    pub local_part: String,
    /// The domain of the security address.
    pub domain: String,
    /// Messages above this size are quarantined.
    pub max_bytes: usize,
}

impl ListenerConfig {
    /// Whether `address` is the security address or one of its `+` forms.
    pub fn accepts(&self, address: &str) -> bool {
        let Some((local, domain)) = address.rsplit_once('@') else {
            return false;
        };
        let base = local.split_once('+').map_or(local, |(b, _)| b);
        base.eq_ignore_ascii_case(&self.local_part) && domain.eq_ignore_ascii_case(&self.domain)
    }

    fn hard_limit(&self) -> usize {
        self.max_bytes.saturating_mul(4)
    }
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_LINE: usize = 4096;
const MAX_RECIPIENTS: usize = 100;

/// Serves SMTP on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, config: ListenerConfig, sink: Arc<dyn MailSink>) {
    let config = Arc::new(config);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let config = config.clone();
                let sink = sink.clone();
                tokio::spawn(async move {
                    let (read, write) = stream.into_split();
                    if let Err(e) = session(read, write, peer, &config, sink.as_ref()).await {
                        tracing::debug!(%peer, error = %e, "smtp session ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "smtp accept failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

/// Reads one line (up to CRLF or LF), at most `max` bytes kept; returns
/// `None` at end of stream and whether the line was too long.
async fn read_line<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                None
            } else {
                Some(too_long)
            });
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if buf.len() + take <= max {
            buf.extend_from_slice(&available[..take]);
        } else {
            too_long = true;
        }
        r.consume(take);
        if done {
            return Ok(Some(too_long));
        }
    }
}

/// The address inside `FROM:<…>` / `TO:<…>`, and the parameters after it.
fn path_argument<'a>(rest: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let rest = rest.trim_start();
    if !rest.get(..keyword.len())?.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = rest.get(keyword.len()..)?.trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some((rest[..end].trim(), rest[end + 1..].trim()))
}

async fn session<R, W>(
    read: R,
    mut w: W,
    peer: SocketAddr,
    config: &ListenerConfig,
    sink: &dyn MailSink,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(read);
    reply(
        &mut w,
        &format!("220 {} cnadesk ESMTP ready", config.hostname),
    )
    .await?;
    let mut envelope: Option<Envelope> = None;
    let mut greeted = false;
    let mut line = Vec::new();
    loop {
        let read =
            tokio::time::timeout(COMMAND_TIMEOUT, read_line(&mut r, &mut line, MAX_LINE)).await;
        let too_long = match read {
            Err(_) => {
                reply(&mut w, "421 4.4.2 idle too long, closing").await?;
                return Ok(());
            }
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(too_long))) => too_long,
            Ok(Err(e)) => return Err(e),
        };
        if too_long {
            reply(&mut w, "500 5.5.2 line too long").await?;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                greeted = true;
                envelope = None;
                reply(
                    &mut w,
                    &format!(
                        "250-{}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING",
                        config.hostname,
                        config.hard_limit()
                    ),
                )
                .await?;
            }
            "HELO" => {
                greeted = true;
                envelope = None;
                reply(&mut w, &format!("250 {}", config.hostname)).await?;
            }
            "MAIL" => {
                if !greeted {
                    reply(&mut w, "503 5.5.1 say EHLO first").await?;
                    continue;
                }
                if envelope.is_some() {
                    reply(&mut w, "503 5.5.1 nested MAIL command").await?;
                    continue;
                }
                let Some((from, params)) = path_argument(rest, "FROM:") else {
                    reply(&mut w, "501 5.5.4 syntax: MAIL FROM:<address>").await?;
                    continue;
                };
                let declared = params
                    .split_whitespace()
                    .find_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        k.eq_ignore_ascii_case("SIZE")
                            .then(|| v.parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if declared > config.hard_limit() {
                    reply(&mut w, "552 5.3.4 message size exceeds the limit").await?;
                    continue;
                }
                envelope = Some(Envelope {
                    mail_from: from.to_owned(),
                    rcpt_to: Vec::new(),
                    peer: peer.to_string(),
                });
                reply(&mut w, "250 2.1.0 sender ok").await?;
            }
            "RCPT" => {
                let Some(env) = envelope.as_mut() else {
                    reply(&mut w, "503 5.5.1 need MAIL first").await?;
                    continue;
                };
                let Some((to, _)) = path_argument(rest, "TO:") else {
                    reply(&mut w, "501 5.5.4 syntax: RCPT TO:<address>").await?;
                    continue;
                };
                if env.rcpt_to.len() >= MAX_RECIPIENTS {
                    reply(&mut w, "452 4.5.3 too many recipients").await?;
                } else if config.accepts(to) {
                    env.rcpt_to.push(to.to_owned());
                    reply(&mut w, "250 2.1.5 recipient ok").await?;
                } else {
                    reply(&mut w, "550 5.1.1 no such mailbox here").await?;
                }
            }
            "DATA" => {
                let Some(env) = envelope.take_if(|e| !e.rcpt_to.is_empty()) else {
                    reply(&mut w, "503 5.5.1 need MAIL and RCPT first").await?;
                    continue;
                };
                reply(&mut w, "354 end data with <CR><LF>.<CR><LF>").await?;
                let Some((raw, over_hard)) = read_data(&mut r, config.hard_limit()).await? else {
                    return Ok(());
                };
                if over_hard {
                    reply(&mut w, "552 5.3.4 message size exceeds the limit").await?;
                    continue;
                }
                let oversize = raw.len() > config.max_bytes;
                match sink.deliver(env, raw, oversize).await {
                    Ok(()) => reply(&mut w, "250 2.0.0 filed").await?,
                    Err(e) => {
                        tracing::warn!(error = %e, "inbound mail not filed; sender will retry");
                        reply(
                            &mut w,
                            "451 4.3.0 cannot file the message now, try again later",
                        )
                        .await?
                    }
                }
            }
            "RSET" => {
                envelope = None;
                reply(&mut w, "250 2.0.0 reset").await?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 ok").await?,
            "VRFY" => reply(&mut w, "252 2.5.0 cannot verify, send it").await?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 bye").await?;
                return Ok(());
            }
            "STARTTLS" => {
                reply(
                    &mut w,
                    "502 5.5.1 not offered; relay over a trusted network",
                )
                .await?
            }
            _ => reply(&mut w, "500 5.5.2 command not recognised").await?,
        }
    }
}

/// Reads the DATA section up to the lone dot, undoing dot-stuffing; keeps
/// at most `limit` bytes (the rest is read and dropped). `None` when the
/// stream ends first.
async fn read_data<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    limit: usize,
) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let mut data = Vec::new();
    let mut over = false;
    let mut line = Vec::new();
    loop {
        // A line is kept only while it fits what is left of the limit, so a
        // line without an end cannot grow memory.
        let budget = limit.saturating_sub(data.len()) + 3;
        let read = tokio::time::timeout(COMMAND_TIMEOUT, read_line(r, &mut line, budget)).await;
        match read {
            Err(_) | Ok(Ok(None)) => return Ok(None),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Some(true))) => {
                over = true;
                continue;
            }
            Ok(Ok(Some(false))) => {}
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some((data, over)));
        }
        let content = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + content.len() > limit {
            over = true;
        } else {
            data.extend_from_slice(content);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::AsyncReadExt;

    #[derive(Default)]
    struct Collect {
        got: Mutex<Vec<(Envelope, Vec<u8>, bool)>>,
        fail: bool,
    }

    #[async_trait]
    impl MailSink for Collect {
        async fn deliver(&self, e: Envelope, raw: Vec<u8>, oversize: bool) -> Result<(), String> {
            if self.fail {
                return Err("database down".into());
            }
            self.got.lock().unwrap().push((e, raw, oversize));
            Ok(())
        }
    }

    fn config() -> ListenerConfig {
        ListenerConfig {
            hostname: "desk.test".into(),
            local_part: "security".into(),
            domain: "xsf.test".into(),
            max_bytes: 100,
        }
    }

    async fn talk(sink: &Collect, input: &str) -> String {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (sr, sw) = tokio::io::split(server);
        let (mut cr, mut cw) = tokio::io::split(client);
        cw.write_all(input.as_bytes()).await.unwrap();
        cw.shutdown().await.unwrap();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        session(sr, sw, peer, &config(), sink).await.unwrap();
        let mut out = String::new();
        cr.read_to_string(&mut out).await.unwrap();
        out
    }

    fn codes(out: &str) -> Vec<&str> {
        out.lines()
            .filter(|l| l.as_bytes().get(3) == Some(&b' '))
            .map(|l| &l[..3])
            .collect()
    }

    #[tokio::test]
    async fn a_message_is_received_with_dots_unstuffed() {
        let sink = Collect::default();
        let out = talk(
            &sink,
            "EHLO mx.test\r\nMAIL FROM:<r@example.org> SIZE=50\r\nRCPT TO:<other@xsf.test>\r\n\
             RCPT TO:<Security+r1.abc@XSF.test>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n",
        )
        .await;
        assert_eq!(
            codes(&out),
            ["220", "250", "250", "550", "250", "354", "250", "221"],
            "{out}"
        );
        let got = sink.got.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.mail_from, "r@example.org");
        assert_eq!(got[0].0.rcpt_to, ["Security+r1.abc@XSF.test"]);
        assert_eq!(got[0].1, b"Subject: hi\r\n\r\n.dot\r\nbody\r\n");
        assert!(!got[0].2);
    }

    #[tokio::test]
    async fn order_and_size_are_enforced() {
        let sink = Collect::default();
        let big = "x".repeat(150);
        let huge = "y".repeat(500);
        let out = talk(
            &sink,
            &format!(
                "MAIL FROM:<a@b>\r\nEHLO x\r\nRCPT TO:<security@xsf.test>\r\nDATA\r\n\
                 MAIL FROM:<a@b> SIZE=100000\r\nMAIL FROM:<>\r\nRCPT TO:<security@xsf.test>\r\nDATA\r\n{big}\r\n.\r\n\
                 MAIL FROM:<a@b>\r\nRCPT TO:<security@xsf.test>\r\nDATA\r\n{huge}\r\n.\r\nNOOP\r\n"
            ),
        )
        .await;
        assert_eq!(
            codes(&out),
            [
                "220", "503", "250", "503", "503", "552", "250", "250", "354", "250", "250", "250",
                "354", "552", "250"
            ],
            "{out}"
        );
        let got = sink.got.lock().unwrap();
        assert_eq!(got.len(), 1, "the huge one is refused, not kept");
        assert!(got[0].2, "over max_bytes is marked oversize");
        assert_eq!(got[0].0.mail_from, "", "a bounce's empty sender is kept");
    }

    #[tokio::test]
    async fn a_filing_failure_asks_the_sender_to_retry() {
        let sink = Collect {
            fail: true,
            ..Default::default()
        };
        let out = talk(
            &sink,
            "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<security@xsf.test>\r\nDATA\r\nhi\r\n.\r\n",
        )
        .await;
        assert_eq!(codes(&out).last(), Some(&"451"), "{out}");
    }

    #[tokio::test]
    async fn garbled_commands_are_refused_without_a_panic() {
        let sink = Collect::default();
        let out = talk(
            &sink,
            "EHLO x\r\nMAIL FRO\u{20ac}:<a@b>\r\nRCPT T\u{e9}\r\nNOOP\r\n",
        )
        .await;
        assert_eq!(codes(&out), ["220", "250", "501", "503", "250"], "{out}");
    }

    #[test]
    fn recipients_are_the_security_address_only() {
        let c = config();
        assert!(c.accepts("security@xsf.test"));
        assert!(c.accepts("SECURITY+r12.x@Xsf.Test"));
        assert!(!c.accepts("securityx@xsf.test"));
        assert!(!c.accepts("security@xsf.test.evil"));
        assert!(!c.accepts("security"));
    }
}
