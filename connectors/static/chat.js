// Web chat widget: POST /api/chat, replies and status over server-sent events. No external assets.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var sendBtn = document.getElementById("send");
  var statusEl = document.getElementById("status");
  var errorEl = document.getElementById("error");

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return (Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2)).slice(0, 32);
  }
  var session = sessionStorage.getItem("concierge-session");
  if (!session) { session = newId(); sessionStorage.setItem("concierge-session", session); }

  var STATUS_TEXT = {
    bot: "You're chatting with our virtual assistant.",
    awaiting_human: "We've passed your conversation to our support team. A person will reply here.",
    human: "A member of our support team has joined the conversation.",
    resolved: "This conversation was marked resolved. Write again any time."
  };
  var WHO = { user: "You", bot: "Assistant", agent: "Support team" };

  function safeUrl(url) {
    try { var u = new URL(url, window.location.href); return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null; }
    catch (e) { return null; }
  }

  function addMessage(role, text, citations) {
    var li = document.createElement("li");
    li.className = "msg msg--" + (WHO[role] ? role : "bot");
    li.setAttribute("data-role", role);
    var who = document.createElement("span");
    who.className = "msg__who";
    who.textContent = WHO[role] || "Assistant";
    li.appendChild(who);
    var body = document.createElement("span");
    body.className = "msg__text";
    body.textContent = text;
    li.appendChild(body);
    if (citations && citations.length) {
      var list = document.createElement("ul");
      list.className = "msg__sources";
      list.setAttribute("aria-label", "Sources");
      citations.forEach(function (c) {
        var item = document.createElement("li");
        var href = c.url ? safeUrl(c.url) : null;
        var label = "Source: " + (c.title || c.doc_id || "article");
        if (href) {
          var a = document.createElement("a");
          a.href = href; a.textContent = label; a.target = "_blank"; a.rel = "noopener noreferrer";
          item.appendChild(a);
        } else {
          item.textContent = label;
        }
        list.appendChild(item);
      });
      li.appendChild(list);
    }
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function showStatus(status) {
    statusEl.setAttribute("data-status", status);
    statusEl.textContent = STATUS_TEXT[status] || STATUS_TEXT.bot;
  }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  var source = new EventSource("/api/chat/" + encodeURIComponent(session) + "/events");
  source.addEventListener("message", function (ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    addMessage(data.role === "agent" ? "agent" : "bot", data.text || "", data.citations || []);
  });
  source.addEventListener("status", function (ev) {
    try { showStatus(JSON.parse(ev.data).status); } catch (e) { /* ignore */ }
  });
  source.onerror = function () { /* EventSource reconnects by itself (retry: 2000) */ };

  function send(text) {
    showError("");
    sendBtn.disabled = true;
    var pending = addMessage("user", text, []);
    pending.classList.add("msg--pending");
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session: session, text: text, id: newId() })
    }).then(function (resp) {
      if (resp.ok) { pending.classList.remove("msg--pending"); return; }
      return resp.json().then(function (body) {
        throw new Error(body && body.detail ? body.detail : "HTTP " + resp.status);
      }, function () { throw new Error("HTTP " + resp.status); });
    }).catch(function (err) {
      pending.remove();
      input.value = text;
      showError("Your message was not sent (" + err.message + "). Please try again.");
    }).finally(function () {
      sendBtn.disabled = false;
      input.focus();
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) { showError("Please type a message first."); return; }
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
})();
