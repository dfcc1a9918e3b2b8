export function NodesArea() {
  return (
    <section className="placeholder">
      <h1>Nodes</h1>
      <p>Add GPU machines over SSH, probe them and see whether they are ready to train.</p>
    </section>
  );
}
