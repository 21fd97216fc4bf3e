// Progressive enhancement only: every page works without this file.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("click", function (event) {
  var copy = event.target.closest("[data-copy]");
  if (copy) {
    var text = document.getElementById(copy.getAttribute("data-copy")).textContent.trim();
    navigator.clipboard.writeText(text).then(function () { copy.textContent = copy.getAttribute("data-copied"); });
  }
  if (event.target.closest("[data-print]")) { window.print(); }
});

// The county list shows only the chosen province's counties.
function showCountiesOf(province, counties) {
  Array.prototype.forEach.call(counties.querySelectorAll("optgroup"), function (group) {
    var shown = !province || group.getAttribute("data-province") === province;
    group.hidden = !shown;
    group.disabled = !shown;
  });
  var chosen = counties.selectedOptions[0];
  if (chosen && chosen.parentElement.disabled) { counties.value = ""; }
}

// A name as the search compares it: Arabic ي, ى and ك as Persian ی and ک, ة as ه, without diacritics (so آ, أ
// and ۀ match ا and ه), spaces, half-spaces and hyphens, in lower case.
function searchable(text) {
  return (text || "").normalize("NFD").replace(/[\u0300-\u036f\u064b-\u065f\u0670]/g, "")
    .replace(/[يى]/g, "ی").replace(/ك/g, "ک").replace(/ة/g, "ه")
    .replace(/[\s\u200c\u200d\-\u2010\u2011'\u2019]/g, "").toLowerCase();
}

function persianDigits(text) {
  return document.documentElement.lang === "fa" ? String(text).replace(/[0-9]/g, function (d) { return "۰۱۲۳۴۵۶۷۸۹"[d]; }) : String(text);
}

// A search box above the agency, province and county lists: typing part of a name (in the page's language or the
// other one) keeps only the choices that match and picks the first of them; the up and down keys move between the
// matches, Enter goes to the list, Escape empties the box. The list itself stays what the form sends.
function addFilter(select, words, hint) {
  var field = select.closest("[data-filter]");
  var id = select.id + "-filter";
  var box = document.createElement("div");
  box.className = "list-filter";
  var label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = field.getAttribute("data-filter");
  var input = document.createElement("input");
  input.type = "search";
  input.id = id;
  input.autocomplete = "off";
  input.spellcheck = false;
  input.setAttribute("aria-controls", select.id);
  input.setAttribute("aria-describedby", hint.id + " " + id + "-status");
  var status = document.createElement("p");
  status.className = "filter-status";
  status.id = id + "-status";
  status.setAttribute("role", "status");
  box.append(label, input, status);
  select.parentNode.insertBefore(box, select);

  function matches() {
    return Array.prototype.filter.call(select.options, function (option) { return option.value && !option.hidden; });
  }
  function choose(option) {
    if (select.value !== option.value) {
      select.value = option.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  function tell(found) {
    var chosen = select.selectedOptions[0];
    status.textContent = !input.value.trim() ? "" : !found.length ? words.getAttribute("data-none")
      : words.getAttribute("data-found").replace("{n}", persianDigits(found.length)).replace("{name}", chosen && chosen.value ? chosen.text : "—");
  }
  function apply() {
    var query = searchable(input.value);
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.value) { return; }  // "choose" and "province-wide" stay
      var group = option.parentElement.tagName === "OPTGROUP" ? option.parentElement : null;
      var shown = !(group && group.disabled) && (!query || searchable(option.text).indexOf(query) >= 0 ||
        searchable(option.getAttribute("data-other")).indexOf(query) >= 0);
      option.hidden = !shown;
      option.disabled = !shown;
    });
    var found = matches();
    var chosen = select.selectedOptions[0];
    if (query && found.length && (!chosen || !chosen.value || chosen.hidden)) {
      choose(found[0]);
    } else if (chosen && chosen.disabled) {
      choose(select.options[0]);
    }
    tell(found);
  }
  input.addEventListener("input", apply);
  input.addEventListener("keydown", function (event) {
    var found = matches();
    var at = found.indexOf(select.selectedOptions[0]);
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && found.length) {
      event.preventDefault();
      choose(found[event.key === "ArrowDown" ? Math.min(at + 1, found.length - 1) : Math.max(at - 1, 0)]);
      tell(found);
    } else if (event.key === "Enter") {
      event.preventDefault();  // never sends the form half filled
      select.focus();
    } else if (event.key === "Escape" && input.value) {
      event.preventDefault();
      input.value = "";
      apply();
    }
  });
  return apply;
}

// Identity fields go away for an anonymous report; files over the limit are named before upload.
function followAnonymity(box, identity) {
  identity.hidden = box.checked;
  Array.prototype.forEach.call(identity.querySelectorAll("input, select"), function (field) { field.disabled = box.checked; });
}

function checkFiles(input) {
  var limit = Number(input.getAttribute("data-max-bytes"));
  var tooBig = Array.prototype.filter.call(input.files, function (file) { return file.size > limit; });
  input.setCustomValidity(tooBig.length ? tooBig.map(function (file) { return file.name; }).join(", ") : "");
  input.reportValidity();
}

document.addEventListener("DOMContentLoaded", function () {
  var province = document.getElementById("f-province");
  var counties = document.getElementById("f-county");
  var words = document.getElementById("filter-words");
  var refilterCounties = function () {};
  if (province && counties) {
    showCountiesOf(province.value, counties);
    province.addEventListener("change", function () { showCountiesOf(province.value, counties); refilterCounties(); });
    // a county found before its province is chosen chooses the province too
    counties.addEventListener("change", function () {
      var group = counties.selectedOptions[0] && counties.selectedOptions[0].parentElement;
      if (!province.value && group && group.tagName === "OPTGROUP") {
        province.value = group.getAttribute("data-province");
        province.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
  if (words) {
    var hint = document.createElement("p");  // said once, above the three lists
    hint.className = "hint";
    hint.id = "list-filter-hint";
    hint.textContent = words.getAttribute("data-hint");
    var legend = words.parentElement.querySelector("legend");
    legend.parentNode.insertBefore(hint, legend.nextSibling);
    Array.prototype.forEach.call(document.querySelectorAll("[data-filter] select"), function (select) {
      var apply = addFilter(select, words, hint);
      if (select === counties) { refilterCounties = apply; }
    });
  }
  var anonymous = document.getElementById("f-anonymous");
  var identity = document.getElementById("identity");
  if (anonymous && identity) {
    followAnonymity(anonymous, identity);
    anonymous.addEventListener("change", function () { followAnonymity(anonymous, identity); });
  }
  var files = document.getElementById("f-attachments");
  if (files) { files.addEventListener("change", function () { checkFiles(files); }); }
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
