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
  if (province && counties) {
    showCountiesOf(province.value, counties);
    province.addEventListener("change", function () { showCountiesOf(province.value, counties); });
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
