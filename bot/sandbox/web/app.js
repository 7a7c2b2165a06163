// Mend's playground: the group and each person's private chat, as Telegram shows them.
// Text from the bot and from people only ever becomes text nodes; the few elements of
// Telegram's HTML are built from the message's entities (see renderText).
"use strict";

const page = {
  labels: {},
  tour: [],
  languages: {},
  zones: [],
  locale: "en",
  data: null,
  version: -1,
  fetchedAt: 0,
  actor: "alex",
  replyTo: {},       // column key -> message id the next message answers
  picks: {},         // "chat:message" -> option indexes ticked in a multi-answer poll
  columns: {},       // column key -> its elements
  busy: false,
  tourStep: 0,
};

const TOUR_DONE = "mend.playground.tour";
const TOUR_STEP = "mend.playground.step";
const SAFE_LINK = /^https?:\/\//i;

// -- words ------------------------------------------------------------------------------

function L(key, values) {
  const text = page.labels["playground." + key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? String(values[name]) : ""));
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function button(text, onClick, className) {
  const node = el("button", className, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

// -- Telegram's formatting, from entities ---------------------------------------------------

function entityElement(entity, text) {
  const inner = text.slice(entity.offset, entity.offset + entity.length);
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "spoiler": {
      const node = el("span", "spoiler");
      node.addEventListener("click", () => node.classList.add("shown"));
      return node;
    }
    case "code": return el("code");
    case "pre": return el("pre");
    case "blockquote":
    case "expandable_blockquote": return el("blockquote");
    case "text_link":
    case "url": {
      const href = entity.type === "url" ? inner : entity.url || "";
      if (!SAFE_LINK.test(href)) return el("span", "link");  // tg: and others: not opened here
      const link = el("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      return link;
    }
    case "bot_command": {
      const node = el("span", "command");
      node.addEventListener("click", (event) => {
        const column = event.target.closest(".column");
        if (column) fillComposer(column.dataset.key, inner);
      });
      return node;
    }
    default: return el("span");
  }
}

function renderText(text, entities) {
  const root = el("div", "text");
  const sorted = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  build(root, text, 0, text.length, sorted);
  return root;
}

function build(parent, text, start, end, entities) {
  let at = start;
  let index = 0;
  while (index < entities.length) {
    const entity = entities[index];
    const from = Math.max(entity.offset, at);
    const to = Math.min(entity.offset + entity.length, end);
    let next = index + 1;
    const inner = [];
    while (next < entities.length && entities[next].offset < entity.offset + entity.length) {
      inner.push(entities[next]);
      next += 1;
    }
    if (from > at) parent.append(text.slice(at, from));
    if (to > from) {
      const node = entityElement(entity, text);
      build(node, text, from, to, inner);
      parent.append(node);
      at = to;
    }
    index = next;
  }
  if (at < end) parent.append(text.slice(at, end));
}

// -- the server ----------------------------------------------------------------------------

async function loadLabels(locale) {
  const response = await fetch("/api/labels?locale=" + encodeURIComponent(locale));
  const body = await response.json();
  Object.assign(page, {
    labels: body.labels, tour: body.tour, languages: body.languages, zones: body.zones,
    locale: body.locale,
  });
  document.documentElement.lang = body.locale;
}

async function follow() {
  for (;;) {
    try {
      const response = await fetch("/api/state?since=" + page.version);
      const data = await response.json();
      if (data.version !== page.version) {
        page.data = data;
        page.version = data.version;
        page.fetchedAt = Date.now();
        render();
      }
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function act(body, where) {
  setBusy(true);
  try {
    const response = await fetch("/api/act", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...body, locale: page.locale }),
    });
    const answer = response.ok ? await response.json() : { ok: false, error: L("refused.cannot") };
    if (!answer.ok) notify(answer.error, where, true);
    else if (answer.answer) notify(answer.answer, where, false);
    return answer.ok;
  } finally {
    setBusy(false);
  }
}

function setBusy(busy) {
  page.busy = busy;
  document.body.classList.toggle("busy", busy);
  document.getElementById("working").hidden = !busy;
  for (const node of document.querySelectorAll("[data-waits]")) node.disabled = busy;
}

function notify(text, where, isError) {
  const box = document.getElementById("notice");
  box.textContent = where ? where + ": " + text : text;
  box.className = isError ? "error" : "";
  box.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

// -- time ------------------------------------------------------------------------------

function nowSeconds() {
  if (!page.data) return Date.now() / 1000;
  return page.data.now + (Date.now() - page.fetchedAt) / 1000;
}

function formatTime(seconds, zone, withDay) {
  const options = { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (withDay) Object.assign(options, { weekday: "short", day: "numeric", month: "short" });
  try {
    return new Intl.DateTimeFormat(page.locale, options).format(new Date(seconds * 1000));
  } catch (error) {
    return new Intl.DateTimeFormat(page.locale, { ...options, timeZone: "UTC" })
      .format(new Date(seconds * 1000));
  }
}

function person(key) {
  return page.data.people.find((p) => p.key === key);
}

// -- drawing -----------------------------------------------------------------------------

function renderChrome() {
  document.title = L("title");
  document.getElementById("title").textContent = L("title");
  document.getElementById("local").textContent = L("local");
  document.getElementById("tour-button").textContent = L("page.tour");
  document.getElementById("reset-button").textContent = L("page.reset");
  document.getElementById("working").textContent = L("working");
  document.getElementById("page-language-label").textContent = L("page_language");
  const select = document.getElementById("page-language");
  select.replaceChildren(...Object.entries(page.languages).map(([code, name]) => {
    const option = el("option", null, name);
    option.value = code;
    option.selected = code === page.locale;
    return option;
  }));
  const travel = document.getElementById("travel");
  travel.replaceChildren(el("span", "muted", L("travel.label")), ...["hour", "next", "day", "week"]
    .map((step) => {
      const node = button(L("travel." + step), () => act({ action: "travel", step }));
      node.dataset.waits = "";
      node.dataset.travel = step;
      return node;
    }));
  page.columns = {};
  document.getElementById("chats").replaceChildren();
}

function render() {
  const data = page.data;
  if (!data) return;
  const chats = document.getElementById("chats");
  if (!chats.children.length) {
    chats.append(groupColumn());
    for (const p of data.people) chats.append(privateColumn(p.key));
  }
  renderClocks();
  renderGroup();
  for (const p of data.people) renderPrivate(p.key);
  renderTour();
}

function renderClocks() {
  const data = page.data;
  const clocks = document.getElementById("clocks");
  clocks.replaceChildren(...data.people.map((p) => {
    const clock = el("span", "clock");
    clock.dataset.person = p.key;
    clock.title = p.zone;
    clock.append(el("b", null, p.name + " "), formatTime(nowSeconds(), p.zone, true));
    return clock;
  }));
  const next = document.getElementById("next");
  const actor = person(page.actor);
  next.textContent = data.next === null
    ? L("travel.nothing")
    : L("travel.next_at", { when: formatTime(data.next, actor.zone, true) + " (" + actor.name + ")" });
}

function column(key, className) {
  const root = el("section", "column " + className);
  root.dataset.key = key;
  const head = el("div", "head");
  const pinned = el("div", "pinned");
  pinned.hidden = true;
  const list = el("div", "messages");
  const foot = el("div", "foot");
  root.append(head, pinned, list, foot);
  const parts = { root, head, pinned, list, foot };
  page.columns[key] = parts;
  return parts;
}

function composer(parts, key, send) {
  const reply = el("div", "replying");
  reply.hidden = true;
  const form = el("form", "composer");
  const input = el("input");
  input.type = "text";
  input.placeholder = L("page.type_here");
  input.maxLength = 4096;
  input.setAttribute("aria-label", L("page.type_here"));
  const sendButton = el("button", null, L("page.send"));
  sendButton.type = "submit";
  form.append(input, sendButton);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    const replyTo = page.replyTo[key] ?? null;
    if (await send(text, replyTo)) {
      input.value = "";
      delete page.replyTo[key];
      renderReplying(key);
    }
  });
  parts.foot.append(reply, form);
  Object.assign(parts, { reply, input, form });
}

function fillComposer(key, text) {
  const parts = page.columns[key];
  if (!parts || !parts.input) return;
  parts.input.value = text + " ";
  parts.input.focus();
}

function renderReplying(key) {
  const parts = page.columns[key];
  const id = page.replyTo[key];
  if (id === undefined) {
    parts.reply.hidden = true;
    return;
  }
  const chatId = key === "group" ? page.data.group.id : person(key).id;
  const messages = key === "group" ? page.data.group.messages : page.data.private[key].messages;
  const message = messages.find((m) => m.id === id && m.chat === chatId);
  if (!message) {
    delete page.replyTo[key];
    parts.reply.hidden = true;
    return;
  }
  parts.reply.replaceChildren(
    el("b", null, L("page.replying_to", { name: message.from })),
    el("span", "snippet", (message.text || (message.poll && message.poll.question) || "").slice(0, 80)),
    button(L("page.cancel"), () => { delete page.replyTo[key]; renderReplying(key); }, "small"),
  );
  parts.reply.hidden = false;
}

function groupColumn() {
  const parts = column("group", "group");
  const who = el("div", "actors");
  who.append(el("span", "muted", L("page.writing_as")));
  for (const p of page.data.people) {
    const choice = button(p.name, () => { page.actor = p.key; render(); });
    choice.dataset.actor = p.key;
    who.append(choice);
  }
  parts.foot.append(who);
  composer(parts, "group", (text, replyTo) => act(
    { action: "say", who: page.actor, where: "group", text, reply_to: replyTo }, person(page.actor).name));
  parts.actors = who;
  return parts.root;
}

function renderGroup() {
  const data = page.data;
  const parts = page.columns.group;
  const addBot = data.group.bot_in ? [] : [button(L("page.add_bot"), () => act({ action: "add_bot" }), "primary")];
  for (const node of addBot) node.dataset.waits = "";
  parts.head.replaceChildren(el("h2", null, data.group.title), el("div", "muted", L("page.group_people")), ...addBot);
  for (const choice of parts.actors.querySelectorAll("button")) {
    choice.classList.toggle("chosen", choice.dataset.actor === page.actor);
  }
  const pinned = data.group.messages.filter((m) => m.pinned).pop();
  parts.pinned.hidden = !pinned;
  if (pinned) {
    parts.pinned.replaceChildren(el("b", null, L("page.pinned") + " "),
      el("span", null, (pinned.text || "").split("\n")[0].slice(0, 120)));
    parts.pinned.onclick = () => scrollToMessage("group", pinned.id);
  }
  renderMessages("group", data.group.messages, () => page.actor);
  renderReplying("group");
}

function privateColumn(key) {
  const parts = column(key, "private");
  composer(parts, key, (text, replyTo) => act(
    { action: "say", who: key, where: "private", text, reply_to: replyTo }, person(key).name));
  return parts.root;
}

function renderPrivate(key) {
  const p = person(key);
  const parts = page.columns[key];
  const language = el("select");
  language.setAttribute("aria-label", L("page.app_language"));
  for (const [code, name] of Object.entries(page.languages)) {
    const option = el("option", null, name);
    option.value = code;
    option.selected = code === p.language;
    language.append(option);
  }
  language.addEventListener("change", () => act({ action: "language", who: key, language: language.value }));
  const zone = el("select");
  zone.setAttribute("aria-label", L("page.zone"));
  for (const name of page.zones) {
    const option = el("option", null, name);
    option.value = name;
    option.selected = name === p.zone;
    zone.append(option);
  }
  zone.addEventListener("change", () => act({ action: "zone", who: key, zone: zone.value }));
  const settings = el("div", "settings");
  const languageLabel = el("label", null, L("page.app_language") + " ");
  languageLabel.append(language);
  const zoneLabel = el("label", null, L("page.zone") + " ");
  zoneLabel.append(zone);
  settings.append(languageLabel, zoneLabel);
  if (p.partner) {
    const known = el("div", "muted mend-zone",
      p.mend_zone ? L("page.mend_zone", { zone: p.mend_zone }) : L("page.mend_no_zone"));
    if (p.mend_zone !== p.zone) {
      const tell = button(L("page.tell_mend"), () => act({ action: "tell_zone", who: key }, p.name), "small");
      tell.dataset.waits = "";
      known.append(" ", tell);
    }
    settings.append(known);
  }
  const clock = el("span", "clock muted", formatTime(nowSeconds(), p.zone, true));
  parts.head.replaceChildren(el("h2", null, L("page.private_title", { name: p.name })), clock, settings);
  parts.foot.hidden = !p.started;
  if (!p.started) {
    const start = button(L("page.start"), () => act({ action: "open", who: key }, p.name), "primary");
    start.dataset.waits = "";
    parts.list.replaceChildren(el("p", "muted empty", L("page.not_open")), start);
    return;
  }
  renderMessages(key, page.data.private[key].messages, () => key);
  renderReplying(key);
}

function scrollToMessage(key, id) {
  const node = page.columns[key].list.querySelector(`[data-id="${Number(id)}"]`);
  if (node) node.scrollIntoView({ block: "center" });
}

function renderMessages(key, messages, actor) {
  const list = page.columns[key].list;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...messages.map((message) => renderMessage(key, message, actor)));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderMessage(key, message, actor) {
  if (message.service) {
    const node = el("div", "service", L("service." + message.service.key, message.service.values));
    node.dataset.id = message.id;
    return node;
  }
  const own = !message.bot && message.who === (key === "group" ? page.actor : key);
  const node = el("div", "message " + (message.bot ? "bot" : own ? "own" : "other"));
  node.dataset.id = message.id;
  if (key === "group" || !message.bot) node.append(el("div", "sender", message.from));
  if (message.reply_to) {
    const quote = el("div", "quote");
    quote.append(el("b", null, message.reply_to.from), el("span", null, message.reply_to.text));
    quote.addEventListener("click", () => scrollToMessage(key, message.reply_to.id));
    node.append(quote);
  }
  if (message.photo) {
    const image = el("img", "photo");
    image.src = `/api/file/${Number(message.chat)}/${Number(message.id)}`;
    image.alt = "";
    node.append(image);
  }
  if (message.document) {
    const link = el("a", "document", message.document.name);
    link.href = `/api/file/${Number(message.chat)}/${Number(message.id)}`;
    link.download = message.document.name;
    link.title = L("page.download", { name: message.document.name });
    node.append(link, el("span", "muted", " " + formatSize(message.document.size)));
  }
  if (message.poll) node.append(renderPoll(key, message, actor()));
  if (message.text) node.append(renderText(message.text, message.entities));
  if (message.buttons && message.buttons.length) {
    const keyboard = el("div", "keyboard");
    message.buttons.forEach((row, rowIndex) => {
      const line = el("div", "row");
      row.forEach((b, colIndex) => {
        const press = button(b.text + (b.link ? " ↗" : ""), () => {
          const who = actor();
          act({ action: "press", who, chat: message.chat, message: message.id, row: rowIndex, col: colIndex },
            person(who).name);
        });
        press.dataset.waits = "";
        line.append(press);
      });
      keyboard.append(line);
    });
    node.append(keyboard);
  }
  const meta = el("div", "meta");
  const zone = person(actor()).zone;
  const flags = [];
  if (message.pinned) flags.push(L("page.pinned"));
  if (message.edited) flags.push(L("page.edited"));
  if (message.silent) flags.push(L("page.silent"));
  meta.append(el("span", null, [...flags, formatTime(message.date, zone, true)].join(" · ")));
  const reply = button(L("page.reply"), () => {
    page.replyTo[key] = message.id;
    renderReplying(key);
    page.columns[key].input.focus();
  }, "link-button");
  reply.dataset.reply = "";
  meta.append(" ", reply);
  if (message.force_reply) node.append(el("div", "asks", L("page.asks_answer")));
  node.append(meta);
  return node;
}

function formatSize(bytes) {
  return bytes < 1024 ? bytes + " B" : (bytes / 1024).toFixed(1) + " KB";
}

function renderPoll(key, message, who) {
  const poll = message.poll;
  const box = el("div", "poll");
  box.append(el("div", "poll-question", poll.question),
    el("div", "muted", poll.closed ? L("page.poll_closed") : L("page.poll")));
  const mine = poll.votes[who] || [];
  const pickKey = message.chat + ":" + message.id;
  const voting = !poll.closed && mine.length === 0;
  poll.options.forEach((option, index) => {
    if (voting) {
      const picked = (page.picks[pickKey] || []).includes(index);
      const choose = button((poll.multiple ? (picked ? "☑ " : "☐ ") : "○ ") + option.text, () => {
        if (!poll.multiple) {
          act({ action: "vote", who, chat: message.chat, message: message.id, options: [index] }, person(who).name);
          return;
        }
        const picks = new Set(page.picks[pickKey] || []);
        if (picks.has(index)) picks.delete(index); else picks.add(index);
        page.picks[pickKey] = [...picks];
        render();
      }, "option");
      choose.dataset.option = index;
      choose.dataset.waits = "";
      box.append(choose);
      return;
    }
    const share = poll.total ? Math.round((100 * option.count) / poll.total) : 0;
    const row = el("div", "result");
    const bar = el("div", "bar");
    bar.style.width = share + "%";
    row.append(el("span", "share", share + "%"),
      el("span", null, (mine.includes(index) ? "✓ " : "") + option.text + " (" + option.count + ")"), bar);
    box.append(row);
  });
  if (voting && poll.multiple) {
    const vote = button(L("page.vote"), () => {
      act({ action: "vote", who, chat: message.chat, message: message.id, options: page.picks[pickKey] || [] },
        person(who).name).then((ok) => { if (ok) delete page.picks[pickKey]; });
    }, "primary");
    vote.dataset.waits = "";
    box.append(vote);
  }
  if (!poll.closed && mine.length && poll.revoting) {
    box.append(button(L("page.retract"), () => act(
      { action: "vote", who, chat: message.chat, message: message.id, options: [] }, person(who).name), "small"));
  }
  box.append(el("div", "muted", L("page.voters", { count: poll.total })));
  return box;
}

// -- the tour ------------------------------------------------------------------------------

function renderTour() {
  const box = document.getElementById("tour");
  if (box.hidden || !page.tour.length) return;
  const step = page.tour[Math.min(page.tourStep, page.tour.length - 1)];
  document.getElementById("tour-step").textContent =
    L("tour.step", { n: page.tourStep + 1, total: page.tour.length });
  const text = document.getElementById("tour-text");
  text.replaceWith(Object.assign(renderText(step.text, step.entities), { id: "tour-text" }));
  const buttons = [];
  if (page.tourStep > 0) buttons.push(button(L("tour.back"), () => moveTour(-1)));
  if (step.show_me) {
    const show = button(L("tour.show_me"), async () => {
      if (await act({ action: "show_me", step: step.show_me })) moveTour(1);
    }, "primary");
    show.dataset.waits = "";
    show.dataset.show = step.show_me;
    buttons.push(show);
  }
  const last = page.tourStep >= page.tour.length - 1;
  buttons.push(button(last ? L("tour.finish") : L("tour.next"), () => (last ? closeTour() : moveTour(1))));
  buttons.push(button(L("tour.close"), closeTour, "link-button"));
  document.getElementById("tour-buttons").replaceChildren(...buttons);
}

function moveTour(by) {
  page.tourStep = Math.max(0, Math.min(page.tour.length - 1, page.tourStep + by));
  localStorage.setItem(TOUR_STEP, String(page.tourStep));
  renderTour();
}

function openTour() {
  document.getElementById("tour").hidden = false;
  renderTour();
}

function closeTour() {
  document.getElementById("tour").hidden = true;
  localStorage.setItem(TOUR_DONE, "yes");
}

// -- start ---------------------------------------------------------------------------------

async function main() {
  const wanted = localStorage.getItem("mend.playground.locale") || navigator.language || "en";
  await loadLabels(wanted);
  renderChrome();
  document.getElementById("page-language").addEventListener("change", async (event) => {
    localStorage.setItem("mend.playground.locale", event.target.value);
    await loadLabels(event.target.value);
    renderChrome();
    render();
  });
  document.getElementById("tour-button").addEventListener("click", () => {
    page.tourStep = 0;
    openTour();
  });
  const reset = document.getElementById("reset-button");
  reset.dataset.waits = "";
  reset.addEventListener("click", async () => {
    if (reset.dataset.sure !== "yes") {
      reset.dataset.sure = "yes";
      reset.textContent = L("page.reset_sure");
      setTimeout(() => { reset.dataset.sure = ""; reset.textContent = L("page.reset"); }, 5000);
      return;
    }
    reset.dataset.sure = "";
    reset.textContent = L("page.reset");
    page.replyTo = {};
    page.picks = {};
    if (await act({ action: "reset" })) {
      page.tourStep = 0;
      localStorage.setItem(TOUR_STEP, "0");
    }
  });
  page.tourStep = Number(localStorage.getItem(TOUR_STEP) || 0);
  if (localStorage.getItem(TOUR_DONE) !== "yes") document.getElementById("tour").hidden = false;
  setInterval(() => { if (page.data) renderClocks(); }, 15000);
  follow();
}

main();
