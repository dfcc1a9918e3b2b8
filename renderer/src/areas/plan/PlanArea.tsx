export function PlanArea() {
  return (
    <section className="placeholder">
      <h1>Plan</h1>
      <p>Edit a training config and compare every sequence-parallel layout.</p>
    </section>
  );
}
