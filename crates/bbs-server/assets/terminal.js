// The browser terminal: xterm.js attached to a BBS session over a
// WebSocket. Keystrokes go out as binary messages, the terminal's size as
// {"columns":N,"rows":M}; what the server sends is written to the terminal
// as is (the server does the line editing, or draws the full screen).
// "?ui=screen" in the page's address opens the full-screen interface.
(function () {
  "use strict";
  var status = document.getElementById("status");
  var term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000 });
  var fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById("terminal"));
  fit.fit();
  // For tests and the curious: the terminal object.
  window.bbsTerminal = term;

  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var fullScreen = /(^|[?&])ui=screen(&|$)/.test(location.search.slice(1));
  var socket = new WebSocket(scheme + location.host + "/ws" + (fullScreen ? "?ui=screen" : ""));
  socket.binaryType = "arraybuffer";
  var encoder = new TextEncoder();

  function sendWidth() {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ columns: term.cols, rows: term.rows }));
    }
  }
  socket.onopen = function () {
    status.textContent = "connected";
    sendWidth();
    term.focus();
  };
  socket.onmessage = function (event) {
    term.write(new Uint8Array(event.data));
  };
  socket.onclose = function () {
    status.textContent = "disconnected (reload the page to connect again)";
    term.write("\r\n[connection closed]\r\n");
  };
  term.onData(function (data) {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(encoder.encode(data));
    }
  });
  window.addEventListener("resize", function () {
    fit.fit();
    sendWidth();
  });
})();
