// Starts GraphiQL against this server's own endpoint. A file, not an inline script, so the
// page works under a strict Content-Security-Policy (script-src 'self').
const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
const defaultQuery = `# Health content API. Try:
query ArticlePage {
  article(slug: "magnesium-for-chronic-pain") {
    title
    readingTimeMinutes
    tableOfContents { anchor heading }
    quotes { text context expert { honorific name } }
    relatedPosts { title url label }
  }
}
`;
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true }),
);
