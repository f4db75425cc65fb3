// Apollo Client's persisted-query link against the running service, as a front end uses it:
// hashes sent by GET, the full query once when the service does not know the hash.
// Run by tests/api/test_persisted.py: node apollo_persisted.cjs <graphql url>
const { ApolloClient, InMemoryCache, gql, HttpLink } = require("@apollo/client");
const { PersistedQueryLink } = require("@apollo/client/link/persisted-queries");
const { createHash } = require("node:crypto");

const url = process.argv[2];
const requests = [];
const logged = (uri, options) => {
  requests.push({ method: options.method, withQuery: String(options.body ?? uri).includes("query") && String(options.body ?? decodeURIComponent(uri)).includes("articles(") });
  return fetch(uri, options);
};
const link = new PersistedQueryLink({
  sha256: (text) => createHash("sha256").update(text).digest("hex"),
  useGETForHashedQueries: true,
}).concat(new HttpLink({ uri: url, fetch: logged }));
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const query = gql`
  query TwoArticles {
    articles(first: 2) {
      edges { node { slug } }
    }
  }
`;

(async () => {
  const first = await client.query({ query, fetchPolicy: "no-cache" });
  const second = await client.query({ query, fetchPolicy: "no-cache" });
  console.log(JSON.stringify({ first: first.data, second: second.data, requests }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
