// lbaas dashboard: draws the view the server streams (/ui/api/stream).
// Every string from the server goes into the page as text (textContent),
// never as markup: names and messages come from tenants.
"use strict";

const $ = (id) => document.getElementById(id);
const HISTORY = 120; // points per chart (about two minutes)
const history = new Map(); // load balancer id -> [{t, req, err}]
let source = null;
let lastView = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "title") e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function badge(status) {
  return el("span", { class: "badge s-" + (status || "UNKNOWN") }, status || "…");
}

async function start() {
  const s = await fetch("/ui/api/session", { credentials: "same-origin" });
  if (!s.ok) { $("conn").textContent = "error " + s.status; return; }
  const sess = await s.json();
  $("login-password").hidden = !sess.password_login;
  if (!sess.logged_in) return showLogin();
  const r = await fetch("/ui/api/view", { credentials: "same-origin" });
  if (!r.ok) { $("conn").textContent = "error " + r.status; return; }
  showDash();
  render(await r.json());
  connect();
}

function showLogin() {
  if (source) { source.close(); source = null; }
  $("login").hidden = false;
  $("dash").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("conn").textContent = "not connected";
  $("conn").classList.remove("live");
}

function showDash() {
  $("login").hidden = true;
  $("dash").hidden = false;
  $("logout").hidden = false;
}

function connect() {
  if (source) source.close();
  source = new EventSource("/ui/api/stream");
  source.addEventListener("view", (ev) => {
    $("conn").textContent = "live";
    $("conn").classList.add("live");
    render(JSON.parse(ev.data));
  });
  source.onerror = async () => {
    $("conn").textContent = "reconnecting…";
    $("conn").classList.remove("live");
    // A dead session (expired token, logout elsewhere) means log in again.
    try {
      const r = await fetch("/ui/api/session", { credentials: "same-origin" });
      if (r.ok && !(await r.json()).logged_in) showLogin();
    } catch (e) { /* the server is away: EventSource retries */ }
  };
}

async function login(body) {
  $("login-error").textContent = "";
  const r = await fetch("/ui/api/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!r.ok) {
    let msg = "log in failed (" + r.status + ")";
    try { msg = (await r.json()).error || msg; } catch (e) { /* keep the status */ }
    $("login-error").textContent = msg;
    return;
  }
  $("token").value = "";
  $("password").value = "";
  start();
}

function render(v) {
  lastView = v;
  const who = v.who || {};
  $("who").textContent = (who.user || "") + " · project " + (who.project_name || who.project || "") + (who.admin ? " · admin" : "");
  renderNodes(v.nodes || []);
  renderLBs(v.loadbalancers || [], new Date(v.time));
  renderEvents();
}

function renderNodes(nodes) {
  $("nodes-section").hidden = nodes.length === 0;
  const ul = $("nodes");
  ul.replaceChildren(...nodes.map((n) => el("li", { "data-node": n.name, class: n.alive ? "alive" : "dead" },
    el("strong", {}, n.name), " ", badge(n.alive ? "ONLINE" : "OFFLINE"),
    n.zone ? " zone " + n.zone : "", " ", el("span", { class: "muted" }, (n.roles || []).join(", ")))));
}

function renderLBs(lbs, t) {
  $("lb-count").textContent = "(" + lbs.length + ")";
  $("no-lbs").hidden = lbs.length > 0;
  const box = $("lbs");
  const keep = new Set(lbs.map((lb) => lb.id));
  for (const card of [...box.children]) if (!keep.has(card.dataset.lb)) card.remove();
  for (const id of [...history.keys()]) if (!keep.has(id)) history.delete(id);
  lbs.forEach((lb, i) => {
    let card = box.querySelector(`[data-lb="${CSS.escape(lb.id)}"]`);
    if (!card) {
      card = el("article", { class: "lb", "data-lb": lb.id, "aria-label": "load balancer " + (lb.name || lb.id) });
      card.append(el("div", { class: "body" }), el("canvas", { class: "chart", width: 400, height: 70, role: "img", "aria-label": "requests per second" }));
    }
    if (box.children[i] !== card) box.insertBefore(card, box.children[i] || null);
    card.querySelector(".body").replaceChildren(...lbBody(lb, record(lb, t)));
    drawChart(card.querySelector("canvas"), history.get(lb.id));
  });
  // The event filter's load balancers.
  const sel = $("f-lb");
  const cur = sel.value;
  sel.replaceChildren(el("option", { value: "" }, "any"), ...lbs.map((lb) => el("option", { value: lb.id }, lb.name || lb.id)));
  sel.value = cur;
}

// record keeps the load balancer's totals and returns its current rates.
function record(lb, t) {
  const h = history.get(lb.id) || [];
  const tr = lb.traffic || {};
  const last = h[h.length - 1];
  const point = { t: t.getTime(), req: tr.requests || 0, err: tr.errors || 0, rps: 0, eps: 0 };
  if (last && point.t > last.t) {
    const dt = (point.t - last.t) / 1000;
    point.rps = Math.max(0, (point.req - last.req) / dt);
    point.eps = Math.max(0, (point.err - last.err) / dt);
  } else if (last) {
    return last; // the same view again
  }
  h.push(point);
  while (h.length > HISTORY) h.shift();
  history.set(lb.id, h);
  return point;
}

function lbBody(lb, rate) {
  const vms = (lb.vms || []).map((vm) => el("div", {
    class: "vm" + (vm.ha_state === "MASTER" ? " master" : "") + (vm.state === "ERROR" ? " error" : ""),
    "data-vm": vm.id, "data-node": vm.node, "data-ha": vm.ha_state || "",
  }, el("div", { class: "role" }, vm.ha_state === "MASTER" ? "active (holds the VIP)" : (vm.ha_state === "BACKUP" ? "standby" : vm.role)),
  el("div", {}, "on ", el("strong", {}, vm.node)),
  vm.error ? el("div", { class: "error" }, vm.error) : null));
  const listeners = el("ul", { class: "members" }, ...(lb.listeners || []).map((l) =>
    el("li", {}, `${l.protocol}:${l.port} `, l.name ? el("span", { class: "muted" }, l.name + " ") : null, badge(l.operating_status))));
  const pools = (lb.pools || []).map((p) => el("div", { class: "pool", "data-pool": p.id },
    el("div", {}, "pool ", el("strong", {}, p.name || p.id.slice(0, 8)), " ", el("span", { class: "muted" }, p.lb_algorithm + " "), badge(p.operating_status)),
    el("ul", { class: "members" }, ...(p.members || []).map((m) => {
      const up = m.operating_status === "ONLINE" || m.operating_status === "NO_MONITOR";
      const down = m.operating_status === "ERROR" || m.operating_status === "OFFLINE";
      return el("li", { class: "member" + (up ? " up" : "") + (down ? " down" : ""), "data-member": m.id, "data-status": m.operating_status || "", title: m.description || "" },
        el("span", { class: "dot", "aria-hidden": "true" }), `${m.address}:${m.port}`,
        el("span", { class: "muted" }, " w" + m.weight + " "), badge(m.operating_status),
        m.description ? el("span", { class: "muted" }, " " + m.description) : null);
    }))));
  return [
    el("h3", {}, lb.name || lb.id, " ", badge(lb.provisioning_status), " ", badge(lb.operating_status)),
    el("p", { class: "addr" }, "VIP " + lb.vip_address + ((lb.floating_ips || []).length ? " · floating IP " + lb.floating_ips.join(", ") : "") + " · project " + lb.project_id),
    lb.status_description ? el("p", { class: lb.provisioning_status === "ERROR" ? "error" : "muted" }, lb.status_description) : null,
    el("div", { class: "pair" }, ...vms),
    listeners, ...pools,
    el("div", { class: "rates" },
      el("span", { "data-rate": "rps" }, rate.rps.toFixed(1) + " req/s"),
      el("span", { "data-rate": "eps" }, rate.eps.toFixed(1) + " errors/s"),
      lb.traffic.response_time_ms ? el("span", {}, lb.traffic.response_time_ms + " ms") : null,
      el("span", {}, (lb.traffic.active_connections || 0) + " open")),
  ];
}

function drawChart(canvas, h) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, ht = canvas.height;
  ctx.clearRect(0, 0, w, ht);
  if (!h || h.length < 2) return;
  const max = Math.max(1, ...h.map((p) => Math.max(p.rps, p.eps)));
  const x = (i) => (i / (HISTORY - 1)) * w;
  const y = (val) => ht - 4 - (val / max) * (ht - 14);
  const line = (key, color) => {
    ctx.beginPath();
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    h.forEach((p, i) => { const xi = x(HISTORY - h.length + i); i ? ctx.lineTo(xi, y(p[key])) : ctx.moveTo(xi, y(p[key])); });
    ctx.stroke();
  };
  line("rps", "#0969da");
  line("eps", "#cf222e");
  ctx.fillStyle = "#57606a";
  ctx.font = "10px system-ui";
  ctx.fillText(max.toFixed(0) + " /s", 2, 10);
}

function renderEvents() {
  if (!lastView) return;
  const evs = lastView.events || [];
  const types = $("f-type");
  const known = new Set([...types.options].map((o) => o.value));
  for (const e of evs) if (!known.has(e.type)) { types.append(el("option", { value: e.type }, e.type)); known.add(e.type); }
  const sev = $("f-severity").value, typ = types.value, lb = $("f-lb").value, text = $("f-text").value.toLowerCase();
  const names = new Map((lastView.loadbalancers || []).map((l) => [l.id, l.name || l.id]));
  const rows = evs.filter((e) => (!sev || e.severity === sev) && (!typ || e.type === typ) && (!lb || e.loadbalancer_id === lb) &&
    (!text || e.message.toLowerCase().includes(text)));
  $("no-events").hidden = rows.length > 0;
  $("events").tBodies[0].replaceChildren(...rows.map((e) => el("tr", { class: "sev-" + e.severity, "data-event": e.type },
    el("td", {}, new Date(e.time).toLocaleTimeString()), el("td", {}, e.severity), el("td", {}, e.type),
    el("td", {}, e.loadbalancer_id ? (names.get(e.loadbalancer_id) || e.loadbalancer_id.slice(0, 8)) : ""),
    el("td", {}, e.node || ""), el("td", {}, e.message))));
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-token").addEventListener("submit", (ev) => { ev.preventDefault(); login({ token: $("token").value }); });
  $("login-password").addEventListener("submit", (ev) => {
    ev.preventDefault();
    login({ username: $("username").value, password: $("password").value, project: $("project").value });
  });
  $("logout").addEventListener("click", async () => {
    await fetch("/ui/api/logout", { method: "POST", credentials: "same-origin" });
    showLogin();
  });
  for (const id of ["f-severity", "f-type", "f-lb", "f-text"]) $(id).addEventListener("input", renderEvents);
  start();
});
