//! The XMPP bot (tokio-xmpp): one connection as the CNA's account, present
//! in the team's multi-user chat room, sending to the room and to members.
//!
//! tokio-xmpp reconnects by itself with growing pauses (and queues what is
//! sent meanwhile); after a reconnect that did not resume the stream
//! (XEP-0198), the bot announces itself and joins the room again. Messages
//! wait in a queue until the bot is first online; the sender waits a bounded
//! time and otherwise reports a temporary failure, so the outbox tries again
//! later. A message whose sender gave up before it was taken is not sent
//! late. A message counts as delivered when the server acknowledged it
//! (XEP-0198) or, without stream management, when it was written out.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tokio_xmpp::connect::DnsConfig;
use tokio_xmpp::parsers::delay::Delay;
use tokio_xmpp::parsers::jid::{BareJid, FullJid, Jid};
use tokio_xmpp::parsers::message::{Lang, Message, MessageType};
use tokio_xmpp::parsers::muc::muc::History;
use tokio_xmpp::parsers::muc::user::Status as MucStatus;
use tokio_xmpp::parsers::muc::{Muc, MucUser};
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use tokio_xmpp::stanzastream::{StanzaStage, StanzaState};
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, Stanza};

/// The bot's account and where it posts.
#[derive(Clone)]
pub struct XmppSettings {
    /// The account (`cna-bot@xmpp.org`).
    pub jid: String,
    /// Its password.
    pub password: SecretString,
    /// `host:port` to connect to; `None`: look the domain up (SRV).
    pub server: Option<String>,
    /// STARTTLS (required); `false` only for a server on loopback.
    pub tls: bool,
    /// The team's room (`security@conference.xmpp.org`).
    pub room: Option<String>,
    /// The bot's nickname in the room.
    pub nick: String,
}

impl std::fmt::Debug for XmppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmppSettings")
            .field("jid", &self.jid)
            .field("password", &"[redacted]")
            .field("server", &self.server)
            .field("tls", &self.tls)
            .field("room", &self.room)
            .field("nick", &self.nick)
            .finish()
    }
}

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XmppTarget {
    /// The team's room (groupchat).
    Room(String),
    /// One person (chat).
    Direct(String),
}

struct Job {
    target: XmppTarget,
    body: String,
    done: oneshot::Sender<Result<(), String>>,
}

/// A handle on the bot's connection.
pub struct XmppNotifier {
    jobs: mpsc::Sender<Job>,
    online: Arc<AtomicBool>,
}

impl std::fmt::Debug for XmppNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmppNotifier")
            .field("online", &self.connected())
            .finish()
    }
}

const STEP_TIMEOUT: Duration = Duration::from_secs(10);

fn dns_config(server: Option<&str>, jid: &BareJid) -> Result<DnsConfig, String> {
    let Some(server) = server else {
        return Ok(DnsConfig::srv_default_client(jid.domain().as_str()));
    };
    let (host, port) = server
        .rsplit_once(':')
        .ok_or_else(|| format!("server {server:?} must be host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("bad port in server {server:?}"))?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(if bare_host.parse::<IpAddr>().is_ok() {
        DnsConfig::addr(server)
    } else {
        DnsConfig::no_srv(bare_host, port)
    })
}

fn client_for(
    jid: &str,
    password: &str,
    server: Option<&str>,
    tls: bool,
) -> Result<Client, String> {
    let jid = BareJid::new(jid).map_err(|e| format!("bad XMPP address {jid:?}: {e}"))?;
    let dns = dns_config(server, &jid)?;
    Ok(if tls {
        Client::new_starttls(jid, password.to_owned(), dns, Timeouts::tight())
    } else {
        Client::new_plaintext(jid, password.to_owned(), dns, Timeouts::tight())
    })
}

/// Sends a stanza and waits until the server has it: acknowledged with
/// XEP-0198 when the stream has it, else written to the socket.
async fn send(client: &mut Client, stanza: Stanza, acked: bool) -> Result<(), String> {
    let mut token = timeout(STEP_TIMEOUT, client.send_stanza(stanza))
        .await
        .map_err(|_| "not sent in time (disconnected?)".to_owned())?
        .map_err(|e| format!("send failed: {e}"))?;
    let stage = if acked {
        StanzaStage::Acked
    } else {
        StanzaStage::Sent
    };
    match timeout(STEP_TIMEOUT, token.wait_for(stage)).await {
        Ok(Some(StanzaState::Acked { .. })) | Ok(Some(StanzaState::Sent { .. })) => Ok(()),
        Ok(other) => Err(format!("not delivered: {other:?}")),
        Err(_) => Err("no acknowledgement in time".to_owned()),
    }
}

fn occupant(room: &str, nick: &str) -> Result<(BareJid, FullJid), String> {
    let bare = BareJid::new(room).map_err(|e| format!("bad room address {room:?}: {e}"))?;
    let full = bare
        .with_resource_str(nick)
        .map_err(|e| format!("bad nickname {nick:?}: {e}"))?;
    Ok((bare, full))
}

fn join_presence(occupant: &FullJid) -> Presence {
    // No history replayed on join.
    Presence::available()
        .with_to(occupant.clone())
        .with_payload(Muc::new().with_history(History::new().with_maxstanzas(0)))
}

fn is_self_presence(p: &Presence, room: &BareJid) -> bool {
    p.from.as_ref().is_some_and(|f| f.to_bare() == *room)
        && p.type_ == PresenceType::None
        && p.payloads.iter().any(|el| {
            MucUser::try_from(el.clone())
                .map(|u| u.status.contains(&MucStatus::SelfPresence))
                .unwrap_or(false)
        })
}

/// Announces presence and joins the room; waits for the room's answer.
async fn come_online(
    client: &mut Client,
    room: Option<&(BareJid, FullJid)>,
    acked: bool,
) -> Result<(), String> {
    send(client, Presence::available().into(), acked).await?;
    let Some((bare, full)) = room else {
        return Ok(());
    };
    send(client, join_presence(full).into(), acked).await?;
    timeout(STEP_TIMEOUT, async {
        while let Some(ev) = client.next().await {
            if let Event::Stanza(Stanza::Presence(p)) = ev {
                if is_self_presence(&p, bare) {
                    return Ok(());
                }
                if p.type_ == PresenceType::Error
                    && p.from.as_ref().is_some_and(|f| f.to_bare() == *bare)
                {
                    return Err(format!("the room {bare} refused the bot"));
                }
            }
        }
        Err("the connection ended while joining the room".to_owned())
    })
    .await
    .map_err(|_| format!("no answer from the room {bare} in time"))?
}

impl XmppNotifier {
    /// Starts the bot in the background.
    pub fn spawn(settings: XmppSettings) -> Self {
        let (jobs, rx) = mpsc::channel(256);
        let online = Arc::new(AtomicBool::new(false));
        tokio::spawn(run(settings, rx, online.clone()));
        XmppNotifier { jobs, online }
    }

    /// Whether the bot is connected (and in its room).
    pub fn connected(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    /// Sends `body` to `target`, waiting at most `wait` (including for the
    /// connection to come back).
    pub async fn send(
        &self,
        target: XmppTarget,
        body: String,
        wait: Duration,
    ) -> Result<(), String> {
        if !self.connected() {
            // Not (yet) online: do not hold up the caller; the outbox retries.
            return Err("XMPP not connected yet".into());
        }
        let (done, answer) = oneshot::channel();
        let job = Job { target, body, done };
        timeout(wait, async {
            self.jobs
                .send(job)
                .await
                .map_err(|_| "the XMPP bot stopped".to_owned())?;
            answer
                .await
                .map_err(|_| "the XMPP bot dropped the message".to_owned())?
        })
        .await
        .map_err(|_| format!("XMPP not connected; not sent within {wait:?}"))?
    }
}

async fn run(settings: XmppSettings, mut jobs: mpsc::Receiver<Job>, online: Arc<AtomicBool>) {
    let room = match settings
        .room
        .as_deref()
        .map(|r| occupant(r, &settings.nick))
    {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            tracing::error!(error = %e, "XMPP room setting is invalid; posting to members only");
            None
        }
        None => None,
    };
    let mut client = match client_for(
        &settings.jid,
        settings.password.expose_secret(),
        settings.server.as_deref(),
        settings.tls,
    ) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "XMPP is misconfigured");
            return;
        }
    };
    let mut acked = false;
    loop {
        // Offline: wait for the connection (tokio-xmpp retries by itself).
        while !online.load(Ordering::Relaxed) {
            match client.next().await {
                Some(Event::Online {
                    features, resumed, ..
                }) => {
                    acked = features.stream_management.is_some();
                    if resumed {
                        online.store(true, Ordering::Relaxed);
                        continue;
                    }
                    match come_online(&mut client, room.as_ref(), acked).await {
                        Ok(()) => {
                            tracing::info!(jid = %settings.jid, "XMPP bot online");
                            online.store(true, Ordering::Relaxed);
                        }
                        Err(e) => {
                            // The session is up: try the join again shortly
                            // rather than wait for a reconnect that may not come.
                            tracing::warn!(error = %e, "XMPP bot could not join; will retry");
                            for _ in 0..12 {
                                tokio::time::sleep(Duration::from_secs(5)).await;
                                if come_online(&mut client, room.as_ref(), acked).await.is_ok() {
                                    online.store(true, Ordering::Relaxed);
                                    break;
                                }
                            }
                        }
                    }
                }
                Some(Event::Disconnected(e)) => {
                    tracing::warn!(error = %e, "XMPP bot disconnected; reconnecting")
                }
                Some(Event::Stanza(_)) => {}
                None => return,
            }
        }
        // Online: send what is queued, and follow the connection.
        tokio::select! {
            ev = client.next() => match ev {
                Some(Event::Disconnected(e)) => {
                    tracing::warn!(error = %e, "XMPP bot disconnected; reconnecting");
                    online.store(false, Ordering::Relaxed);
                }
                Some(Event::Online { resumed: false, features, .. }) => {
                    // Reconnected without resumption: present and join again.
                    acked = features.stream_management.is_some();
                    online.store(false, Ordering::Relaxed);
                    if come_online(&mut client, room.as_ref(), acked).await.is_ok() {
                        online.store(true, Ordering::Relaxed);
                    }
                }
                Some(_) => {}
                None => return,
            },
            job = jobs.recv() => {
                let Some(job) = job else { return };
                if job.done.is_closed() {
                    continue; // its sender gave up; the outbox will try again
                }
                // tokio-xmpp does not report a lost connection (it queues
                // and reconnects), so a failure here is only reported: the
                // outbox retries the message later.
                let result = deliver(&mut client, &job, acked).await;
                let _ = job.done.send(result);
            }
        }
    }
}

async fn deliver(client: &mut Client, job: &Job, acked: bool) -> Result<(), String> {
    let message = match &job.target {
        XmppTarget::Room(room) => {
            let room = BareJid::new(room).map_err(|e| format!("bad room address {room:?}: {e}"))?;
            Message::groupchat(Some(Jid::from(room)))
        }
        XmppTarget::Direct(to) => {
            let to = Jid::new(to).map_err(|e| format!("bad XMPP address {to:?}: {e}"))?;
            Message::chat(Some(to))
        }
    }
    .with_body(Lang::default(), job.body.clone());
    send(client, message.into(), acked).await
}

// ---- a small client for tests and diagnostics ----------------------------------

/// An account for [`collect`].
#[derive(Clone, Debug)]
pub struct TestAccount {
    /// Address.
    pub jid: String,
    /// Password.
    pub password: String,
    /// `host:port` (plain TCP on loopback).
    pub server: String,
}

/// A message [`collect`] received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// `groupchat` or `chat`.
    pub kind: String,
    /// The sender.
    pub from: String,
    /// The text.
    pub body: String,
}

/// Signs in as `account`, joins `room` (with a nickname) if given, and
/// collects the messages that arrive for `wait` (room history excluded).
pub async fn collect(
    account: TestAccount,
    room: Option<(String, String)>,
    wait: Duration,
) -> Result<Vec<Received>, String> {
    let mut client = client_for(
        &account.jid,
        &account.password,
        Some(&account.server),
        false,
    )?;
    let room = room.map(|(r, nick)| occupant(&r, &nick)).transpose()?;
    let acked = timeout(Duration::from_secs(15), async {
        while let Some(ev) = client.next().await {
            if let Event::Online { features, .. } = ev {
                return Ok(features.stream_management.is_some());
            }
        }
        Err("the connection ended before going online".to_owned())
    })
    .await
    .map_err(|_| format!("{} not online in time", account.jid))??;
    come_online(&mut client, room.as_ref(), acked).await?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, client.next()).await {
        let Event::Stanza(Stanza::Message(m)) = ev else {
            continue;
        };
        let Some((_, body)) = m.get_best_body_cloned(vec![]) else {
            continue;
        };
        let delayed = m
            .payloads
            .iter()
            .any(|el| Delay::try_from(el.clone()).is_ok());
        let kind = match m.type_ {
            MessageType::Groupchat if !delayed => "groupchat",
            MessageType::Chat | MessageType::Normal => "chat",
            _ => continue,
        };
        out.push(Received {
            kind: kind.to_owned(),
            from: m.from.as_ref().map(|f| f.to_string()).unwrap_or_default(),
            body,
        });
    }
    let _ = timeout(Duration::from_secs(5), client.send_end()).await;
    Ok(out)
}
