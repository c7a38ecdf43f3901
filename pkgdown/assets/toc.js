/* The "On this page" table of contents of the site's articles and reference pages.
 *
 * pkgdown's pkgdown.js calls Toc.init({$nav, $scope}), the API of bootstrap-toc, which
 * pkgdown 2.0's template loads from a CDN (and which the npm registry does not carry).
 * This is lrschedule's own implementation of that call: a list of links (Bootstrap's
 * .nav / .nav-link, which pkgdown's style sheet and Bootstrap's scrollspy expect) to
 * the headings in $scope, nested by heading level, skipping headings marked
 * data-toc-skip; a heading without an id gets one made from its text.
 */
(function (window, $) {
  "use strict";

  function slug(text, used) {
    var base = text.toLowerCase().trim().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    base = base || "section";
    var id = base, n = 1;
    while (used[id] || document.getElementById(id)) {
      id = base + "-" + n;
      n += 1;
    }
    used[id] = true;
    return id;
  }

  function newList() {
    return $('<ul class="nav nav-pills flex-column"></ul>');
  }

  window.Toc = {
    init: function (options) {
      var $nav = options.$nav;
      var $scope = options.$scope;
      if (!$nav || !$nav.length || !$scope || !$scope.length) {
        return;
      }
      var used = {};
      var $top = newList();
      // the open lists, outermost first, each with the level of its headings
      var open = [{ level: 0, $list: $top, $item: null }];
      $scope.each(function () {
        var $heading = $(this);
        if ($heading.is("[data-toc-skip]")) {
          return;
        }
        var text = $heading.attr("data-toc-text") || $heading.text().trim();
        if (!text) {
          return;
        }
        var level = parseInt(this.tagName.substring(1), 10);
        if (!this.id) {
          this.id = slug(text, used);
        }
        while (open.length > 1 && open[open.length - 1].level >= level) {
          open.pop();
        }
        var parent = open[open.length - 1];
        var $list = parent.$list;
        if (parent.level !== 0 && parent.level < level && parent.$item) {
          // a deeper heading: a list inside the item of the heading above it
          $list = parent.$item.children("ul");
          if (!$list.length) {
            $list = newList().appendTo(parent.$item);
          }
        }
        var $item = $("<li></li>").append(
          $('<a class="nav-link"></a>').attr("href", "#" + this.id).text(text));
        $list.append($item);
        open.push({ level: level, $list: $list, $item: $item });
      });
      if ($top.children().length) {
        $nav.append($top);
      }
    }
  };
})(window, window.jQuery);
