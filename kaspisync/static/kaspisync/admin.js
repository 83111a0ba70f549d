/* kaspisync: on a phone every list row (and every row of a table marked "ks-cards") becomes a
   card whose cells carry their column's name (admin.css shows it before the value); this copies
   each header's text onto its cells. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("#result_list, table.ks-cards").forEach(function (table) {
    var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (labels[i] && !cell.classList.contains("action-checkbox") && !cell.hasAttribute("colspan")) {
          cell.setAttribute("data-label", labels[i]);
        }
      });
    });
  });
});
