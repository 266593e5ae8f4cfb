// Progressive enhancement only: every page works without this file. It loads in <head> (not
// deferred) so the stored light/dark choice applies before the page is painted.
document.documentElement.classList.add("js");
(function () {
  try {
    var t = window.localStorage.getItem("theme");
    if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
  } catch (e) { /* storage off: follow the system */ }
})();
document.addEventListener("DOMContentLoaded", function () {
  // The theme button flips light and dark and remembers the choice on this device.
  document.querySelectorAll(".theme-toggle").forEach(function (b) {
    b.addEventListener("click", function () {
      var root = document.documentElement;
      var current = root.getAttribute("data-theme") ||
        (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
      var next = current === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { window.localStorage.setItem("theme", next); } catch (e) { /* not kept */ }
    });
  });
  // The sidebar shows the current page even when it sits low in a long list.
  // Only the sidebar scrolls, never the page.
  var sidebar = document.querySelector(".sidebar");
  var current = sidebar && sidebar.querySelector("a[aria-current='page']");
  if (current && window.matchMedia("(min-width: 721px)").matches) {
    var offset = current.getBoundingClientRect().top - sidebar.getBoundingClientRect().top;
    if (offset > sidebar.clientHeight - 40) sidebar.scrollTop += offset - sidebar.clientHeight / 2;
  }
  // The phone drawer is a checkbox (works without script); Escape closes it.
  var drawer = document.getElementById("nav-open");
  if (drawer) {
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && drawer.checked) { drawer.checked = false; drawer.focus(); }
    });
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
  // A link naming a <dialog> opens it in place; without script the link leads to a page.
  document.querySelectorAll("a[data-dialog]").forEach(function (a) {
    var d = document.getElementById(a.getAttribute("data-dialog"));
    if (!d || typeof d.showModal !== "function") return;
    a.addEventListener("click", function (e) {
      e.preventDefault();
      var menu = a.closest("details");
      if (menu) menu.open = false;
      d.showModal();
    });
  });
  // A receipt's Print button; without script the browser's own print command does the same.
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  bulkInviteProgress(document.getElementById("bulk-progress"));
  newCustomerForm(document.getElementById("new-customer-form"));
  copyButtons();
});

// The new-customer form: the amount shows the chosen plan's price, the identity fields follow
// the chosen server's platform, and a permanent customer has no payment to fill in.
function newCustomerForm(form) {
  if (!form) return;
  var plan = form.querySelector("#nc-plan");
  var server = form.querySelector("#nc-server");
  var amount = form.querySelector("#nc-amount");
  var currency = form.querySelector("#nc-currency");
  var sync = function () {
    var p = plan && plan.options[plan.selectedIndex];
    if (p && p.getAttribute("data-price")) {
      amount.placeholder = p.getAttribute("data-price");
      currency.textContent = p.getAttribute("data-currency");
    }
    var s = server && server.options[server.selectedIndex];
    var platform = s ? s.getAttribute("data-platform") : null;
    form.querySelectorAll("[data-platforms]").forEach(function (el) {
      var list = el.getAttribute("data-platforms").split(" ");
      el.hidden = !!platform && list.indexOf(platform) < 0;
    });
    var permanent = form.querySelector("#nc-permanent").checked;
    ["#nc-amount", "#nc-quantity", "#nc-method"].forEach(function (sel) {
      var el = form.querySelector(sel);
      if (el) el.disabled = permanent;
    });
  };
  form.addEventListener("change", sync);
  sync();
}

// Follows a running bulk invite through its JSON status; reloads once it finishes so the page
// shows the final state with its retry button.
function bulkInviteProgress(box) {
  if (!box || box.getAttribute("data-state") !== "running") return;
  var url = box.getAttribute("data-status-url");
  var set = function (id, v) {
    var el = document.getElementById(id);
    if (el) el.textContent = String(v);
  };
  var tick = function () {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        set("bi-done", s.done_rows);
        set("bi-failed", s.failed_rows);
        set("bi-remaining", s.remaining);
        var bar = document.getElementById("bi-bar");
        if (bar) bar.value = s.done_rows + s.failed_rows;
        (s.rows || []).forEach(function (r) {
          var tr = document.querySelector('#bi-rows tr[data-row="' + r.row_number + '"]');
          if (!tr) return;
          var outcome = r.outcome === "done" || r.outcome === "failed" ? r.outcome : "pending";
          var badge = tr.querySelector("[data-outcome]");
          if (badge) { badge.textContent = outcome; badge.className = "badge " + outcome; }
          var msg = tr.querySelector("[data-message]");
          if (msg) msg.textContent = r.message || "";
        });
        if (s.remaining > 0 && s.state !== "stopped") setTimeout(tick, 1500);
        else window.location.reload();
      })
      .catch(function () { setTimeout(tick, 5000); });
  };
  setTimeout(tick, 1000);
}

// A button with data-copy="<input id>" copies that field's value (e.g. a webhook URL); without
// script the field is still there to select and copy by hand.
function copyButtons() {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var field = document.getElementById(b.getAttribute("data-copy"));
    if (!field) return;
    b.addEventListener("click", function () {
      var done = function () { b.textContent = "Copied"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
      } else {
        field.select();
        if (document.execCommand && document.execCommand("copy")) done();
      }
    });
  });
}
