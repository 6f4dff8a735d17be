import { render } from 'preact';
import { App } from './app.jsx';
import { workspace } from './workspace.js';
import './styles.css';

render(<App />, document.getElementById('app'));
workspace.start();
