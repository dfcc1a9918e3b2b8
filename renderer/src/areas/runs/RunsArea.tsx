export function RunsArea() {
  return (
    <section className="placeholder">
      <h1>Runs</h1>
      <p>Launch, watch and compare training runs.</p>
    </section>
  );
}
