/* kaspisync: on a phone every list row becomes a card whose cells carry their column's name
   (admin.css shows it before the value); this copies each header's text onto its cells. */
document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("result_list");
  if (!table) return;
  var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return th.textContent.trim();
  });
  Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
    Array.prototype.forEach.call(row.children, function (cell, i) {
      if (labels[i] && !cell.classList.contains("action-checkbox")) cell.setAttribute("data-label", labels[i]);
    });
  });
});
