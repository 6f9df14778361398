// Swagger UI for /api/docs, started from a file so the page needs no inline script (CSP).
window.addEventListener("load", function () {
  window.SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });
});
