// The page talks to the API with the session cookie (HttpOnly, set at login)
// and same-origin fetches; the server's cross-origin protection refuses the
// same requests from any other site.
"use strict";

const $ = (sel) => document.querySelector(sel);

function status(msg) { $("#status").textContent = msg || ""; }

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = new Error((data && (data.detail || data.title)) || res.statusText);
    err.problem = data;
    throw err;
  }
  return data;
}

function formData(form) { return Object.fromEntries(new FormData(form).entries()); }

function handle(form, fn) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status("");
    try { await fn(formData(form)); form.reset(); } catch (e) { status(e.message); }
  });
}

async function refresh() {
  let me;
  try { me = await api("GET", "/api/me"); } catch { me = null; }
  $("#auth").hidden = !!me;
  $("#app").hidden = !me;
  $("#logout").hidden = !me;
  $("#whoami").textContent = me ? `Signed in as ${me.name} <${me.email}> (${me.roles.join(", ")})` : "Not signed in.";
  if (me) { await loadNotes(); connectChat(); }
}

async function loadNotes() {
  const notes = await api("GET", "/api/notes?limit=50&sort=-created_at");
  const list = $("#note-list");
  list.replaceChildren();
  for (const n of notes.items) {
    const li = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = n.title;
    const body = document.createElement("div");
    body.innerHTML = n.body; // sanitized on the server (sanitize.PresetUserContent)
    const del = document.createElement("button");
    del.textContent = "Delete";
    del.addEventListener("click", async () => {
      try { await api("DELETE", `/api/notes/${n.id}`); await loadNotes(); } catch (e) { status(e.message); }
    });
    li.append(title, body, del);
    list.append(li);
  }
}

let socket = null;
function connectChat() {
  if (socket) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  socket = new WebSocket(url, "covet.chat.v1");
  socket.addEventListener("open", () => {
    $("#chat-state").textContent = "online";
    socket.send(JSON.stringify({ type: "join", room: "lobby" }));
  });
  socket.addEventListener("message", (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type !== "message") return;
    const li = document.createElement("li");
    li.textContent = `${msg.data.from}: ${msg.data.text}`;
    li.dataset.seq = msg.seq;
    $("#messages").append(li);
  });
  socket.addEventListener("close", () => { $("#chat-state").textContent = "offline"; socket = null; });
}

handle($("#register"), async (f) => {
  await api("POST", "/auth/register", { email: f.email, name: f.name, password: f.password });
  status("Registered. Log in now.");
});

handle($("#login"), async (f) => {
  const body = { email: f.email, password: f.password };
  if (f.otp) body.otp = f.otp;
  await api("POST", "/auth/login", body);
  await refresh();
});

$("#logout").addEventListener("click", async () => {
  try { await api("POST", "/auth/logout"); } catch (e) { status(e.message); }
  if (socket) socket.close();
  await refresh();
});

// Turning 2FA on asks for the current password again.
handle($("#enroll"), async (f) => {
  const e = await api("POST", "/auth/2fa/enroll", { password: f.password });
  $("#secret").textContent = e.secret;
  $("#otpauth").textContent = e.otpauth_url;
  $("#enrolment").hidden = false;
});

handle($("#verify"), async (f) => {
  await api("POST", "/auth/2fa/verify", { code: f.code });
  $("#enrolment").hidden = true;
  status("Two-factor authentication is on.");
});

handle($("#new-note"), async (f) => {
  await api("POST", "/api/notes", { title: f.title, body: f.body });
  await loadNotes();
});

handle($("#say"), async (f) => {
  if (!socket) throw new Error("chat is offline");
  socket.send(JSON.stringify({ type: "say", room: "lobby", text: f.text }));
});

refresh();
